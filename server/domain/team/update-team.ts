import { z } from "zod";
import type { Db } from "../../db.ts";

export const ZRenameTeamInput = z.object({ name: z.string().trim().min(1, "Give the team a name").max(80) });

export async function renameTeam(db: Db, teamId: string, name: string) {
  return db.team.update({ where: { id: teamId }, data: { name }, select: { id: true, name: true, slug: true } });
}

/** Deletes the team and, through cascades, its projects, runs, metrics, invites and keys. */
export async function deleteTeam(db: Db, teamId: string) {
  await db.team.delete({ where: { id: teamId }, select: { id: true } });
  return { id: teamId };
}
