import type { Db } from "../../db.ts";
import { signInThrottle } from "../auth/sign-in-throttle.ts";

/** Members with their role; `signInLimited` says failed sign-ins are making someone wait (an admin can unlock). */
export async function listMembers(db: Db, teamId: string) {
  const memberships = await db.membership.findMany({
    where: { teamId },
    select: { role: true, createdAt: true, user: { select: { id: true, name: true, email: true } } },
    orderBy: { createdAt: "asc" },
  });
  const throttle = signInThrottle();
  return memberships.map(({ role, createdAt, user }) => ({
    userId: user.id,
    name: user.name,
    email: user.email,
    role,
    joinedAt: createdAt,
    signInLimited: throttle.isLimited(user.email),
  }));
}
