import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";
import { inviteSelect } from "./create-invite.ts";

export async function listInvites(db: Db, teamId: string) {
  return db.invite.findMany({ where: { teamId }, select: inviteSelect, orderBy: { createdAt: "desc" }, take: 200 });
}

export async function revokeInvite(db: Db, teamId: string, inviteId: string) {
  const invite = await db.invite.findFirst({ where: { id: inviteId, teamId }, select: { id: true, revokedAt: true } });
  if (!invite) throw new AppError("NOT_FOUND", "Invite not found");
  return db.invite.update({
    where: { id: invite.id },
    data: { revokedAt: invite.revokedAt ?? new Date() },
    select: inviteSelect,
  });
}
