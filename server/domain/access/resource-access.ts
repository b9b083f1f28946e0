import type { Db } from "../../db.ts";
import type { ApiKeyScope, Role } from "../../generated/prisma/enums.ts";
import { AppError } from "../app-error.ts";
import type { Actor } from "./actor.ts";
import { keyRole } from "./resolve-team-access.ts";
import { roleAtLeast } from "./roles.ts";

/*
 * "May this actor use this team / project / experiment / run / report?", answered here for tRPC,
 * /api/v1, /api/metrics/series and reports alike:
 * - Another team's resource answers exactly like one that does not exist: NOT_FOUND, "<Thing> not found".
 * - A member without the role gets FORBIDDEN naming the role.
 * - A key acts with the lesser of its scope and its creator's current role (keyRole), and only where
 *   its scope is `full` or one of the `keyScopes` the caller names.
 * - A key bound to one run (a command run's own key, Actor.runId) reaches that run only: any other
 *   run, and every team, project, experiment and report, is NOT_FOUND.
 */

export type TeamAccess = { teamId: string; role: Role | null; actor: Actor };
export type ProjectAccess = TeamAccess & { projectId: string };
export type ExperimentAccess = ProjectAccess & { experimentId: string };
export type RunAccess = ExperimentAccess & { runId: string };
export type ReportAccess = ProjectAccess & { reportId: string };

/** Refuses a run outside a run-bound key's reach, as missing (`message` lets /api/v1 name the run). */
export function assertRunInKeyReach(actor: Actor, runId: string, message = "Run not found"): void {
  if (actor.kind === "apiKey" && actor.runId !== undefined && actor.runId !== runId)
    throw new AppError("NOT_FOUND", message);
}

/** A run-bound key sees nothing but its run: any team, project, experiment or report is missing to it. */
function refuseRunBoundKey(actor: Actor, thing: string): void {
  if (actor.kind === "apiKey" && actor.runId !== undefined) throw new AppError("NOT_FOUND", `${thing} not found`);
}

/** `check`'s NOT_FOUND reworded for the resource asked about, so a team's name or existence never shows through. */
async function notFoundAs<T>(thing: string, check: Promise<T>): Promise<T> {
  try {
    return await check;
  } catch (error) {
    if (error instanceof AppError && error.code === "NOT_FOUND") throw new AppError("NOT_FOUND", `${thing} not found`);
    throw error;
  }
}

/** The team rule without the run-bound-key rule (callers apply that first). */
async function checkTeam(
  db: Db,
  actor: Actor,
  teamId: string,
  minimumRole: Role,
  keyScopes: readonly ApiKeyScope[],
): Promise<TeamAccess> {
  if (actor.kind === "apiKey") {
    if (actor.teamId !== teamId) throw new AppError("NOT_FOUND", "Team not found");
    const role = await keyRole(db, actor);
    const scopeAllows = actor.scope === "full" || keyScopes.includes(actor.scope);
    if (!scopeAllows) throw new AppError("FORBIDDEN", `An API key with scope "${actor.scope}" cannot do this`);
    if (!roleAtLeast(role, minimumRole)) {
      throw new AppError(
        "FORBIDDEN",
        `This needs the ${minimumRole} role in the team; this API key acts as a ${role} (its creator's role, capped by its scope)`,
      );
    }
    return actor.scope === "full" ? { teamId, role, actor } : { teamId, role: null, actor };
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

/** The actor may use this team with `minimumRole` (a key: scope `full` or one of `keyScopes`). */
export async function resolveTeamAccess(
  db: Db,
  actor: Actor,
  teamId: string,
  minimumRole: Role,
  keyScopes: readonly ApiKeyScope[] = [],
): Promise<TeamAccess> {
  refuseRunBoundKey(actor, "Team");
  return checkTeam(db, actor, teamId, minimumRole, keyScopes);
}

/** The team that owns a project, with the same not-found rule for outsiders. */
export async function resolveProjectAccess(
  db: Db,
  actor: Actor,
  projectId: string,
  minimumRole: Role,
  keyScopes: readonly ApiKeyScope[] = [],
): Promise<ProjectAccess> {
  refuseRunBoundKey(actor, "Project");
  const project = await db.project.findUnique({ where: { id: projectId }, select: { teamId: true } });
  if (!project) throw new AppError("NOT_FOUND", "Project not found");
  return { ...(await notFoundAs("Project", checkTeam(db, actor, project.teamId, minimumRole, keyScopes))), projectId };
}

/** An experiment, checked through the team that owns its project. */
export async function resolveExperimentAccess(
  db: Db,
  actor: Actor,
  experimentId: string,
  minimumRole: Role,
  keyScopes: readonly ApiKeyScope[] = [],
): Promise<ExperimentAccess> {
  refuseRunBoundKey(actor, "Experiment");
  const experiment = await db.experiment.findUnique({
    where: { id: experimentId },
    select: { projectId: true, project: { select: { teamId: true } } },
  });
  if (!experiment) throw new AppError("NOT_FOUND", "Experiment not found");
  const team = await notFoundAs("Experiment", checkTeam(db, actor, experiment.project.teamId, minimumRole, keyScopes));
  return { ...team, projectId: experiment.projectId, experimentId };
}

/** A run, checked through the team that owns its experiment's project; a run-bound key reaches its own run only. */
export async function resolveRunAccess(
  db: Db,
  actor: Actor,
  runId: string,
  minimumRole: Role,
  keyScopes: readonly ApiKeyScope[] = [],
): Promise<RunAccess> {
  assertRunInKeyReach(actor, runId);
  const run = await db.run.findUnique({
    where: { id: runId },
    select: { experimentId: true, experiment: { select: { projectId: true, project: { select: { teamId: true } } } } },
  });
  if (!run) throw new AppError("NOT_FOUND", "Run not found");
  const team = await notFoundAs("Run", checkTeam(db, actor, run.experiment.project.teamId, minimumRole, keyScopes));
  return { ...team, projectId: run.experiment.projectId, experimentId: run.experimentId, runId };
}

/** A report, checked through its project's team. */
export async function resolveReportAccess(
  db: Db,
  actor: Actor,
  reportId: string,
  minimumRole: Role,
  keyScopes: readonly ApiKeyScope[] = [],
): Promise<ReportAccess> {
  refuseRunBoundKey(actor, "Report");
  const report = await db.report.findUnique({
    where: { id: reportId },
    select: { projectId: true, project: { select: { teamId: true } } },
  });
  if (!report) throw new AppError("NOT_FOUND", "Report not found");
  const team = await notFoundAs("Report", checkTeam(db, actor, report.project.teamId, minimumRole, keyScopes));
  return { ...team, projectId: report.projectId, reportId };
}

/** Every run must be readable by the actor (viewer in its team); unknown and other teams' runs are NOT_FOUND alike. */
export async function assertRunsReadable(db: Db, actor: Actor, runIds: readonly string[]): Promise<void> {
  const unique = [...new Set(runIds)];
  for (const runId of unique) assertRunInKeyReach(actor, runId);
  const runs = await db.run.findMany({
    where: { id: { in: unique } },
    select: { experiment: { select: { project: { select: { teamId: true } } } } },
  });
  if (runs.length !== unique.length) throw new AppError("NOT_FOUND", "Run not found");
  for (const teamId of new Set(runs.map((run) => run.experiment.project.teamId)))
    await notFoundAs("Run", checkTeam(db, actor, teamId, "viewer", []));
}

/** Every experiment must be readable by the actor; unknown and other teams' experiments are NOT_FOUND alike. */
export async function assertExperimentsReadable(db: Db, actor: Actor, experimentIds: readonly string[]): Promise<void> {
  refuseRunBoundKey(actor, "Experiment");
  const unique = [...new Set(experimentIds)];
  const experiments = await db.experiment.findMany({
    where: { id: { in: unique } },
    select: { project: { select: { teamId: true } } },
  });
  if (experiments.length !== unique.length) throw new AppError("NOT_FOUND", "Experiment not found");
  for (const teamId of new Set(experiments.map((experiment) => experiment.project.teamId)))
    await notFoundAs("Experiment", checkTeam(db, actor, teamId, "viewer", []));
}
