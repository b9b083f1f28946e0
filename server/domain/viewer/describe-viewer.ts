import type { Db } from "../../db.ts";
import type { Actor } from "../access/actor.ts";
import { listTeamsForUser } from "../team/list-teams.ts";

/** Who the caller is, for the UI's header and team switcher. Null user when signed out. */
export async function describeViewer(db: Db, actor: Actor | null) {
  if (!actor) return { user: null, apiKey: null, teams: [] };
  // An actor without a user id (a caller that found no one to act as) is nobody, never a database error.
  const user = actor.userId
    ? await db.user.findUnique({
        where: { id: actor.userId },
        select: { id: true, name: true, email: true, image: true },
      })
    : null;
  if (actor.kind === "apiKey") {
    const team = await db.team.findUnique({
      where: { id: actor.teamId },
      select: { id: true, name: true, slug: true },
    });
    return {
      user: null,
      apiKey: { id: actor.keyId, scope: actor.scope },
      teams: team ? [{ ...team, role: null }] : [],
    };
  }
  return { user, apiKey: null, teams: user ? await listTeamsForUser(db, user.id) : [] };
}

/** Whether anyone has signed up (the local single-user admin does not count). */
export async function instanceHasAccounts(db: Db): Promise<boolean> {
  return (await db.account.findFirst({ select: { id: true } })) !== null;
}
