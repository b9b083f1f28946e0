import type { Db } from "../../db.ts";

/** The teams a user belongs to, with the user's role in each. */
export async function listTeamsForUser(db: Db, userId: string) {
  const memberships = await db.membership.findMany({
    where: { userId },
    select: { role: true, team: { select: { id: true, name: true, slug: true } } },
    orderBy: { createdAt: "asc" },
  });
  return memberships.map(({ role, team }) => ({ ...team, role }));
}
