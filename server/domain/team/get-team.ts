import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";

export async function getTeam(db: Db, teamId: string) {
  const team = await db.team.findUnique({
    where: { id: teamId },
    select: {
      id: true,
      name: true,
      slug: true,
      createdAt: true,
      _count: { select: { memberships: true, projects: true } },
    },
  });
  if (!team) throw new AppError("NOT_FOUND", "Team not found");
  const { _count, ...rest } = team;
  return { ...rest, memberCount: _count.memberships, projectCount: _count.projects };
}
