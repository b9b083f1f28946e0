import type { Db } from "../../db.ts";
import type { RunQueue } from "../../queue/boss.ts";
import { revokeRunKeys } from "../api-key/create-run-key.ts";
import { publishRunEvent, publishRunEvents } from "./run-events.ts";

/**
 * Cancels runs: a queued run is canceled at once and its job leaves the queue; a running run is
 * asked to stop (its worker watches cancelRequestedAt and marks it canceled, keeping its metrics).
 * Without `queue`, a canceled run's job stays queued and the worker that fetches it skips it.
 */
export async function cancelRuns(db: Db, where: { runIds?: string[]; experimentId?: string }, queue?: RunQueue) {
  const scope = {
    ...(where.runIds ? { id: { in: where.runIds } } : {}),
    ...(where.experimentId ? { experimentId: where.experimentId } : {}),
  };
  return db.$transaction(async (tx) => {
    const queued = await tx.run.findMany({
      where: { ...scope, status: "queued" },
      select: { id: true, experimentId: true },
    });
    const queuedIds = queued.map((run) => run.id);
    if (queuedIds.length) {
      await tx.run.updateMany({
        where: { id: { in: queuedIds }, status: "queued" },
        data: { status: "canceled", finishedAt: new Date(), error: "canceled before it started" },
      });
      await queue?.cancelQueuedJobs(tx, queuedIds);
      // A run given back to the queue has no live key; this is for keys minted while it was being requeued.
      for (const runId of queuedIds) await revokeRunKeys(tx, runId);
      for (const experimentId of new Set(queued.map((run) => run.experimentId))) {
        await publishRunEvents(
          tx,
          experimentId,
          queued.filter((run) => run.experimentId === experimentId).map((run) => run.id),
          "canceled",
        );
      }
    }
    // A running run turns canceled when its worker stops it (finish-run publishes that); until then
    // its row shows the request.
    const stopping = await tx.run.findMany({
      where: { ...scope, status: "running", cancelRequestedAt: null },
      select: { id: true, experimentId: true },
    });
    const running = await tx.run.updateMany({
      where: { id: { in: stopping.map((run) => run.id) }, status: "running", cancelRequestedAt: null },
      data: { cancelRequestedAt: new Date() },
    });
    for (const run of stopping) await publishRunEvent(tx, { runId: run.id, experimentId: run.experimentId });
    return { canceled: queuedIds.length, stopping: running.count };
  });
}
