import type { Db } from "../../db.ts";
import { createTeam } from "../team/create-team.ts";

/** The very first account of an instance gets a team and is its admin; later ones join by invite or create their own. */
export async function onUserCreated(db: Db, user: { id: string; name: string }): Promise<void> {
  const otherUsers = await db.user.count({ where: { id: { not: user.id } } });
  if (otherUsers > 0) return;
  const firstName = user.name.trim().split(/\s+/)[0] || "My";
  await createTeam(db, user.id, { name: `${firstName}'s team` });
}
