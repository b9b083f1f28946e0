import type { Db } from "../../db.ts";
import { isCommandRun, type RunQueue } from "../../queue/boss.ts";
import { revokeRunKeys } from "../api-key/create-run-key.ts";
import { publishRunEvent } from "./run-events.ts";

/** SCALEBOARD_STALE_SECONDS' default: a run whose heartbeat is older (30 missed beats) is requeued and resumed elsewhere. */
export const DEFAULT_STALE_SECONDS = 30;

/**
 * Gives a running run back to the queue (worker shutdown, or a worker presumed dead), to be
 * resumed from its checkpoint by any worker. Fenced by attempt when one is given. A graceful give-back
 * (the worker was told to stop) does not use up an attempt: the attempt number is also the fencing
 * token, so it still grows, and the run's attempt limit grows with it.
 */
export async function requeueRun(
  db: Db,
  queue: RunQueue,
  runId: string,
  options: { attempt?: number; reason: string; graceful?: boolean },
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const updated = await tx.run.updateMany({
      where: { id: runId, status: "running", ...(options.attempt !== undefined ? { attempt: options.attempt } : {}) },
      data: {
        status: "queued",
        queuedAt: new Date(),
        workerName: null,
        workerKeyId: null,
        error: options.reason,
        ...(options.graceful ? { maxAttempts: { increment: 1 } } : {}),
      },
    });
    if (updated.count === 0) return false;
    const run = await tx.run.findUniqueOrThrow({
      where: { id: runId },
      select: { priority: true, experimentId: true, config: true },
    });
    // The attempt that held the run is over: its command's key dies with it.
    await revokeRunKeys(tx, runId);
    await queue.retireRunJobs(tx, [runId]);
    await queue.enqueueRuns(tx, [{ runId, priority: run.priority, command: isCommandRun(run.config) }]);
    await publishRunEvent(tx, { runId, experimentId: run.experimentId, status: "queued" });
    return true;
  });
}

/**
 * A job fetched by a worker that is stopping, or a command run's job found on the built-in queue
 * (sent before command runs had a queue of their own): the run is still queued, so it gets a fresh
 * job on its own queue for another worker (the fetched one is retired: failing it would leave the
 * run queued with no job).
 */
export async function requeueUnclaimedRun(db: Db, queue: RunQueue, runId: string): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const run = await tx.run.findUnique({
      where: { id: runId },
      select: { status: true, priority: true, config: true },
    });
    if (run?.status !== "queued") return false;
    await queue.retireRunJobs(tx, [runId]);
    await queue.enqueueRuns(tx, [{ runId, priority: run.priority, command: isCommandRun(run.config) }]);
    return true;
  });
}

/**
 * Runs whose heartbeat is older than `staleSeconds` lost their worker: they go back to the queue
 * (attempt + 1 when claimed again) or, past the attempt limit, fail with the reason.
 */
export async function requeueStaleRuns(
  db: Db,
  queue: RunQueue,
  staleSeconds: number,
): Promise<{ requeued: string[]; failed: string[] }> {
  const stale = await db.run.findMany({
    // Only runs a worker claimed from the queue; runs tracked over HTTP are kept alive by their own scripts.
    where: {
      status: "running",
      heartbeatAt: { lt: new Date(Date.now() - staleSeconds * 1000) },
      specVersionId: { not: null },
    },
    select: { id: true, attempt: true, maxAttempts: true, workerName: true },
    take: 100,
  });
  const requeued: string[] = [];
  const failed: string[] = [];
  for (const run of stale) {
    const reason = `worker ${run.workerName ?? "?"} stopped sending heartbeats (attempt ${run.attempt} of ${run.maxAttempts})`;
    if (run.attempt >= run.maxAttempts) {
      const updated = await db.$transaction(async (tx) => {
        const result = await tx.run.updateMany({
          where: { id: run.id, attempt: run.attempt, status: "running" },
          data: { status: "failed", finishedAt: new Date(), error: `${reason}; no attempts left` },
        });
        if (result.count) {
          await revokeRunKeys(tx, run.id);
          await queue.retireRunJobs(tx, [run.id]);
          await publishRunEvent(tx, { runId: run.id, status: "failed" });
        }
        return result.count;
      });
      if (updated) failed.push(run.id);
    } else if (await requeueRun(db, queue, run.id, { attempt: run.attempt, reason })) {
      requeued.push(run.id);
    }
  }
  return { requeued, failed };
}
