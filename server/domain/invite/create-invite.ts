import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { ROLES } from "../access/roles.ts";

export const ZCreateInviteInput = z.object({
  role: z.enum(ROLES),
  expiresInHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(24 * 7),
});
export type CreateInviteInput = z.infer<typeof ZCreateInviteInput>;

export const inviteSelect = {
  id: true,
  role: true,
  expiresAt: true,
  acceptedAt: true,
  revokedAt: true,
  createdAt: true,
  createdBy: { select: { id: true, name: true } },
} satisfies Prisma.InviteSelect;

export function hashInviteToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A single-use invite; the token (256 random bits) is returned once and only its hash is kept. */
export async function createInvite(db: Db, teamId: string, createdById: string, input: CreateInviteInput) {
  const token = randomBytes(32).toString("base64url");
  const invite = await db.invite.create({
    data: {
      teamId,
      createdById,
      role: input.role,
      tokenHash: hashInviteToken(token),
      expiresAt: new Date(Date.now() + input.expiresInHours * 3_600_000),
    },
    select: inviteSelect,
  });
  return { invite, token, path: `/invite/${token}` };
}
