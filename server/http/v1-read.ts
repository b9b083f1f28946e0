import type { z } from "zod";
import type { Db } from "../db.ts";
import type { Actor } from "../domain/access/actor.ts";
import { resolveExperimentAccess, resolveRunAccess, resolveTeamAccess } from "../domain/access/resource-access.ts";
import { AppError } from "../domain/app-error.ts";
import { findExperiments } from "../domain/experiment/find-experiments.ts";
import { listRunsPage } from "../domain/experiment/list-runs-page.ts";
import { decodeCursor } from "../domain/experiment/page-cursor.ts";
import { readApiRun } from "../domain/experiment/read-api-run.ts";
import { readRunPoints } from "../domain/experiment/read-run-points.ts";
import { ZExperimentsQuery, ZPointsQuery, ZRunsQuery } from "./v1-schemas.ts";

/**
 * The read half of /api/v1: find experiments, list runs, read a run and its points. Readable with
 * an ingest or full key of the team (authenticated by v1.ts); another team's experiment or run
 * answers exactly like a missing one; a command run's own key reads its run only
 * (server/domain/access/resource-access.ts decides all of it). Every answer is bounded: pages of
 * runs and experiments, at most 5,000 points, JSON fields and metric keys capped.
 */

type KeyActor = Extract<Actor, { kind: "apiKey" }>;

/** The key scopes these reads accept besides `full`. */
const READ_SCOPES = ["ingest"] as const;

/**
 * The query string against its schema: an unknown or repeated parameter, or a bad value, is a 400
 * naming it (ZodError, formatted by v1.ts).
 */
export function parseQuery<T extends z.ZodType>(schema: T, url: string): z.output<T> {
  const params = new URL(url).searchParams;
  const query: Record<string, string> = {};
  for (const name of new Set(params.keys())) {
    if (params.getAll(name).length > 1)
      throw new AppError("INVALID_INPUT", `Invalid request: ${name}: given more than once`);
    query[name] = params.get(name)!;
  }
  return schema.parse(query);
}

function cursorOf(text: string | undefined) {
  if (text === undefined) return null;
  const cursor = decodeCursor(text);
  if (!cursor) throw new AppError("INVALID_INPUT", "Invalid request: cursor: not a cursor this API handed out");
  return cursor;
}

export async function listExperimentsForKey(db: Db, actor: KeyActor, url: string) {
  const query = parseQuery(ZExperimentsQuery, url);
  await resolveTeamAccess(db, actor, actor.teamId, "viewer", READ_SCOPES);
  return findExperiments(db, actor.teamId, { ...query, cursor: cursorOf(query.cursor) });
}

export async function listRunsForKey(db: Db, actor: KeyActor, url: string) {
  const query = parseQuery(ZRunsQuery, url);
  // A command run's own key lists its run only (when it matches the filters).
  if (actor.runId === undefined) await resolveTeamAccess(db, actor, actor.teamId, "viewer", READ_SCOPES);
  else await resolveRunAccess(db, actor, actor.runId, "viewer", READ_SCOPES);
  return listRunsPage(db, actor.teamId, { ...query, onlyRunId: actor.runId, cursor: cursorOf(query.cursor) });
}

export async function readRunForKey(db: Db, actor: KeyActor, runId: string) {
  await resolveRunAccess(db, actor, runId, "viewer", READ_SCOPES);
  return readApiRun(db, runId);
}

export async function readPointsForKey(db: Db, actor: KeyActor, runId: string, url: string) {
  const query = parseQuery(ZPointsQuery, url);
  await resolveRunAccess(db, actor, runId, "viewer", READ_SCOPES);
  return readRunPoints(db, runId, query);
}

export async function experimentAccessForKey(db: Db, actor: KeyActor, experimentId: string) {
  return resolveExperimentAccess(db, actor, experimentId, "viewer", READ_SCOPES);
}
