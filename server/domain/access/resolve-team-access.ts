import type { Db } from "../../db.ts";
import type { ApiKeyScope, Role } from "../../generated/prisma/enums.ts";
import { AppError } from "../app-error.ts";
import type { Actor } from "./actor.ts";
import { FULL_KEY_ROLE, roleAtLeast } from "./roles.ts";

export type TeamAccess = { teamId: string; role: Role | null; actor: Actor };

/**
 * Checks that the actor may use a team at the given role. A team the actor is not in answers
 * exactly like a team that does not exist (NOT_FOUND); a member without the role gets FORBIDDEN.
 */
export async function resolveTeamAccess(
  db: Db,
  actor: Actor,
  teamId: string,
  minimumRole: Role,
  keyScopes: readonly ApiKeyScope[] = [],
): Promise<TeamAccess> {
  if (actor.kind === "apiKey") {
    if (actor.teamId !== teamId) throw new AppError("NOT_FOUND", "Team not found");
    if (actor.scope === "full" && roleAtLeast(FULL_KEY_ROLE, minimumRole)) return { teamId, role: FULL_KEY_ROLE, actor };
    if (keyScopes.includes(actor.scope)) return { teamId, role: null, actor };
    throw new AppError("FORBIDDEN", `An API key with scope "${actor.scope}" cannot do this`);
  }
  const membership = await db.membership.findUnique({
    where: { teamId_userId: { teamId, userId: actor.userId } },
    select: { role: true },
  });
  if (!membership) throw new AppError("NOT_FOUND", "Team not found");
  if (!roleAtLeast(membership.role, minimumRole)) {
    throw new AppError("FORBIDDEN", `This needs the ${minimumRole} role in the team; you are a ${membership.role}`);
  }
  return { teamId, role: membership.role, actor };
}

/** The team that owns a project, with the same not-found rule for outsiders. */
export async function resolveProjectAccess(
  db: Db,
  actor: Actor,
  projectId: string,
  minimumRole: Role,
  keyScopes: readonly ApiKeyScope[] = [],
): Promise<TeamAccess & { projectId: string }> {
  const project = await db.project.findUnique({ where: { id: projectId }, select: { teamId: true } });
  if (!project) throw new AppError("NOT_FOUND", "Project not found");
  try {
    return { ...(await resolveTeamAccess(db, actor, project.teamId, minimumRole, keyScopes)), projectId };
  } catch (error) {
    if (error instanceof AppError && error.code === "NOT_FOUND") throw new AppError("NOT_FOUND", "Project not found");
    throw error;
  }
}
