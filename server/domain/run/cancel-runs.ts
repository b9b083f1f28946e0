import type { Db } from "../../db.ts";
import { cancelQueuedJobs } from "../../queue/boss.ts";

/**
 * Cancels runs: a queued run is canceled at once and its job leaves the queue; a running run is
 * asked to stop (its worker watches cancelRequestedAt and marks it canceled, keeping its metrics).
 */
export async function cancelRuns(db: Db, where: { runIds?: string[]; experimentId?: string }) {
  const scope = { ...(where.runIds ? { id: { in: where.runIds } } : {}), ...(where.experimentId ? { experimentId: where.experimentId } : {}) };
  return db.$transaction(async (tx) => {
    const queued = await tx.run.findMany({ where: { ...scope, status: "queued" }, select: { id: true } });
    const queuedIds = queued.map((run) => run.id);
    if (queuedIds.length) {
      await tx.run.updateMany({ where: { id: { in: queuedIds }, status: "queued" }, data: { status: "canceled", finishedAt: new Date(), error: "canceled before it started" } });
      await cancelQueuedJobs(tx, queuedIds);
    }
    const running = await tx.run.updateMany({ where: { ...scope, status: "running", cancelRequestedAt: null }, data: { cancelRequestedAt: new Date() } });
    return { canceled: queuedIds.length, stopping: running.count };
  });
}
