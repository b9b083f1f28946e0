import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { roleAtLeast } from "../access/roles.ts";
import { AppError } from "../app-error.ts";
import { hashInviteToken } from "./create-invite.ts";

export const ZInviteTokenInput = z.object({ token: z.string().min(16).max(200) });

const INVALID = "This invite link is not valid: it may have expired, been revoked or already been used";

/** The invite behind a token while it can still be used, else null. */
export async function findUsableInvite(db: Pick<Prisma.TransactionClient, "invite">, token: string, now = new Date()) {
  const invite = await db.invite.findUnique({
    where: { tokenHash: hashInviteToken(token) },
    select: {
      id: true,
      teamId: true,
      role: true,
      expiresAt: true,
      acceptedAt: true,
      revokedAt: true,
      team: { select: { name: true } },
    },
  });
  if (!invite || invite.revokedAt || invite.acceptedAt || invite.expiresAt <= now) return null;
  return invite;
}

/** What a holder of the link may see before signing in: the team's name and the role offered. */
export async function previewInvite(db: Db, token: string) {
  const invite = await findUsableInvite(db, token);
  if (!invite) throw new AppError("NOT_FOUND", INVALID);
  return { teamName: invite.team.name, role: invite.role, expiresAt: invite.expiresAt };
}

/** Joins the team with the invite's role (keeping a higher role the user already has); the link is then used up. */
export async function acceptInvite(db: Db, userId: string, token: string) {
  return db.$transaction(async (tx) => {
    const invite = await findUsableInvite(tx, token);
    if (!invite) throw new AppError("NOT_FOUND", INVALID);
    const used = await tx.invite.updateMany({
      where: { id: invite.id, acceptedAt: null },
      data: { acceptedAt: new Date() },
    });
    if (used.count === 0) throw new AppError("NOT_FOUND", INVALID);
    const existing = await tx.membership.findUnique({
      where: { teamId_userId: { teamId: invite.teamId, userId } },
      select: { role: true },
    });
    if (existing && roleAtLeast(existing.role, invite.role)) return { teamId: invite.teamId, role: existing.role };
    const membership = await tx.membership.upsert({
      where: { teamId_userId: { teamId: invite.teamId, userId } },
      create: { teamId: invite.teamId, userId, role: invite.role },
      update: { role: invite.role },
      select: { teamId: true, role: true },
    });
    return membership;
  });
}
