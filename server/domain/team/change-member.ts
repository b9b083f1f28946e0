import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Role } from "../../generated/prisma/enums.ts";
import { ROLES } from "../access/roles.ts";
import { AppError } from "../app-error.ts";

export const ZChangeRoleInput = z.object({ userId: z.string().min(1), role: z.enum(ROLES) });
export const ZRemoveMemberInput = z.object({ userId: z.string().min(1) });

/**
 * Changes or removes a membership inside a transaction that locks the team row, so two admins
 * demoting each other at once cannot leave the team without an admin.
 */
async function withTeamLocked<T>(
  db: Db,
  teamId: string,
  work: (tx: Parameters<Parameters<Db["$transaction"]>[0]>[0]) => Promise<T>,
): Promise<T> {
  return db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM "Team" WHERE id = ${teamId} FOR UPDATE`;
    return work(tx);
  });
}

async function assertAnotherAdminRemains(
  tx: Parameters<Parameters<Db["$transaction"]>[0]>[0],
  teamId: string,
  userId: string,
) {
  const otherAdmins = await tx.membership.count({ where: { teamId, role: "admin", userId: { not: userId } } });
  if (otherAdmins === 0)
    throw new AppError("CONFLICT", "A team needs at least one admin: make someone else admin first");
}

export async function changeMemberRole(db: Db, teamId: string, userId: string, role: Role) {
  return withTeamLocked(db, teamId, async (tx) => {
    const membership = await tx.membership.findUnique({
      where: { teamId_userId: { teamId, userId } },
      select: { id: true, role: true },
    });
    if (!membership) throw new AppError("NOT_FOUND", "Member not found");
    if (membership.role === "admin" && role !== "admin") await assertAnotherAdminRemains(tx, teamId, userId);
    return tx.membership.update({ where: { id: membership.id }, data: { role }, select: { userId: true, role: true } });
  });
}

export async function removeMember(db: Db, teamId: string, userId: string) {
  return withTeamLocked(db, teamId, async (tx) => {
    const membership = await tx.membership.findUnique({
      where: { teamId_userId: { teamId, userId } },
      select: { id: true, role: true },
    });
    if (!membership) throw new AppError("NOT_FOUND", "Member not found");
    if (membership.role === "admin") await assertAnotherAdminRemains(tx, teamId, userId);
    await tx.membership.delete({ where: { id: membership.id } });
    return { userId };
  });
}
