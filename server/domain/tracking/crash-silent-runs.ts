import type { Db } from "../../db.ts";
import { publishRunEvent } from "../run/run-events.ts";

/** How many silent runs one sweep marks; the next sweep takes the rest. */
const SWEEP_LIMIT = 100;

/** The error a crashed run carries: why, and how it comes back. */
export function crashedMessage(staleSeconds: number): string {
  return `the script sent no heartbeat and logged no point for ${staleSeconds} s (SCALEBOARD_STALE_SECONDS): presumed dead; a heartbeat from it makes it running again`;
}

/**
 * Runs tracked over /api/v1 (a script, the SDK) whose script went silent for `staleSeconds`: no
 * heartbeat and no logged point. Nobody can resume them (the script is outside Scaleboard), so they end
 * `crashed` instead of staying `running` forever. Runs a worker claimed are not touched: they go back
 * to the queue (requeue-run.ts). MLflow's runs are not either: its clients never heartbeat, and MLflow
 * keeps a run RUNNING until the client ends it. Called by the same sweeps that requeue worker runs.
 */
export async function crashSilentTrackedRuns(db: Db, staleSeconds: number): Promise<string[]> {
  const cutoff = new Date(Date.now() - staleSeconds * 1000);
  return db.$transaction(async (tx) => {
    // Points are a sign of life too: every ingest bumps the series row's updatedAt.
    const crashed = await tx.$queryRaw<{ id: string; experimentId: string }[]>`
      UPDATE "Run" SET status = 'crashed'::"RunStatus", "finishedAt" = now(), "updatedAt" = now(),
        error = ${crashedMessage(staleSeconds)}
      WHERE id IN (
        SELECT r.id FROM "Run" r
        WHERE r.status = 'running' AND r."heartbeatAt" < ${cutoff}
          AND r.config -> 'runner' ->> 'kind' = 'tracked' AND (r.environment -> 'mlflow') IS NULL
          AND NOT EXISTS (SELECT 1 FROM "MetricSeries" s WHERE s."runId" = r.id AND s."updatedAt" >= ${cutoff})
        ORDER BY r."heartbeatAt" LIMIT ${SWEEP_LIMIT}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, "experimentId"`;
    for (const run of crashed)
      await publishRunEvent(tx, { runId: run.id, experimentId: run.experimentId, status: "crashed" });
    return crashed.map((run) => run.id);
  });
}
