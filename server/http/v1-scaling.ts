import type { Db } from "../db.ts";
import type { Actor } from "../domain/access/actor.ts";
import { AppError } from "../domain/app-error.ts";
import { readScalingAnalysis } from "../domain/scaling/scaling-analysis.ts";
import { experimentAccessForKey, parseQuery } from "./v1-read.ts";
import { ZScalingQuery } from "./v1-schemas.ts";

/**
 * Analyses this process computes at once. A joint fit over a few hundred runs takes tens of seconds
 * of CPU (4,500 starts, then the bootstrap), so more callers would only queue behind each other on
 * the event loop; past the bound a caller is told to retry (429) instead.
 */
export const MAX_CONCURRENT_ANALYSES = 2;
let running = 0;

/**
 * GET /api/v1/experiments/{id}/scaling: the scaling analysis of an experiment's succeeded runs
 * (server/domain/scaling/scaling-analysis.ts, at most MAX_ANALYSIS_RUNS runs), with budget advice
 * when budgetFlops or budgetSeconds is asked. Readable with an ingest or full key of the team.
 */
export async function readScalingForKey(
  db: Db,
  actor: Extract<Actor, { kind: "apiKey" }>,
  experimentId: string,
  url: string,
) {
  const query = parseQuery(ZScalingQuery, url);
  await experimentAccessForKey(db, actor, experimentId);
  if (running >= MAX_CONCURRENT_ANALYSES)
    throw new AppError(
      "TOO_MANY_REQUESTS",
      `${MAX_CONCURRENT_ANALYSES} scaling analyses are being computed already (the limit at once); retry in a minute`,
    );
  running++;
  try {
    return await readScalingAnalysis(db, experimentId, query);
  } finally {
    running--;
  }
}
