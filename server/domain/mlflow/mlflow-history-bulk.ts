import type { Db } from "../../db.ts";
import { querySeries } from "../metrics/query-series.ts";
import { MlflowError } from "./mlflow-error.ts";
import { protoDouble, readRun, timestampOf, wallTimesAt } from "./mlflow-runs.ts";

/** MLflow's own bounds for metrics/get-history-bulk-interval (mlflow/server/handlers.py). */
export const MAX_RUNS_PER_BULK_HISTORY = 100;
export const MAX_RESULTS_PER_RUN = 2500;

/**
 * metrics/get-history-bulk-interval (what the MLflow UI's charts and clients read): one key for up
 * to 100 runs, optionally between start_step and end_step, at most max_results points per run. A
 * series that holds more comes back as the charts' own min/max-preserving buckets (every point a
 * logged one, the first and last step kept), so a spike survives; each point carries its logged time.
 */
export async function getMlflowMetricHistoryBulkInterval(
  db: Db,
  teamId: string,
  input: { runIds: string[]; key: string; startStep?: number; endStep?: number; maxResults?: number },
) {
  const runIds = [...new Set(input.runIds)];
  if (!runIds.length) throw new MlflowError("INVALID_PARAMETER_VALUE", "run_ids: at least one run id is required");
  if (runIds.length > MAX_RUNS_PER_BULK_HISTORY)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `run_ids: at most ${MAX_RUNS_PER_BULK_HISTORY} runs per request (got ${runIds.length})`,
    );
  if (input.startStep !== undefined && input.endStep !== undefined && input.startStep > input.endStep)
    throw new MlflowError("INVALID_PARAMETER_VALUE", "end_step must be greater than or equal to start_step");
  const maxResults = input.maxResults ?? MAX_RESULTS_PER_RUN;
  if (maxResults < 1 || maxResults > MAX_RESULTS_PER_RUN)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `max_results: 1 to ${MAX_RESULTS_PER_RUN} (got ${maxResults})`);
  for (const runId of runIds) await readRun(db, teamId, runId);
  const { series } = await querySeries(db, {
    runIds,
    key: input.key,
    ...(input.startStep !== undefined ? { xMin: input.startStep } : {}),
    ...(input.endStep !== undefined ? { xMax: input.endStep } : {}),
    points: Math.max(4, maxResults),
  });
  const metrics: { key: string; value: number | string; timestamp: number; step: number; run_id: string }[] = [];
  for (const run of series) {
    const points = keepEnds(run.points, maxResults);
    const times = await wallTimesAt(
      db,
      run.runId,
      input.key,
      points.map((point) => point.x),
    );
    for (const point of points)
      metrics.push({
        key: input.key,
        value: typeof point.y === "number" ? protoDouble(point.y) : point.y,
        timestamp: timestampOf(times.get(point.x)) ?? 0,
        step: point.x,
        run_id: run.runId,
      });
  }
  return { metrics };
}

/** Below the charts' smallest bucket count (4): evenly spaced points, the first and last among them. */
function keepEnds<T>(points: readonly T[], most: number): readonly T[] {
  if (points.length <= most) return points;
  if (most === 1) return [points.at(-1)!];
  return Array.from({ length: most }, (_, index) => points[Math.round((index * (points.length - 1)) / (most - 1))]!);
}
