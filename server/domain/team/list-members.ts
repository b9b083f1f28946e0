import type { Db } from "../../db.ts";

export async function listMembers(db: Db, teamId: string) {
  const memberships = await db.membership.findMany({
    where: { teamId },
    select: { role: true, createdAt: true, user: { select: { id: true, name: true, email: true } } },
    orderBy: { createdAt: "asc" },
  });
  return memberships.map(({ role, createdAt, user }) => ({ userId: user.id, name: user.name, email: user.email, role, joinedAt: createdAt }));
}
