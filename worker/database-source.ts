import { readFile } from "node:fs/promises";
import { PgBoss } from "pg-boss";
import { createDb } from "../server/db.ts";
import { createRunKey } from "../server/domain/api-key/create-run-key.ts";
import { saveCheckpoint } from "../server/domain/checkpoint/save-checkpoint.ts";
import { discardPointsAfter, ingestPointsForAttempt } from "../server/domain/metrics/ingest-points.ts";
import { appendRunLog } from "../server/domain/run/append-run-log.ts";
import { claimRun } from "../server/domain/run/claim-run.ts";
import { finishRun } from "../server/domain/run/finish-run.ts";
import { recordRunHeartbeat } from "../server/domain/run/record-run-heartbeat.ts";
import { requeueRun, requeueStaleRuns, requeueUnclaimedRun } from "../server/domain/run/requeue-run.ts";
import { markWorkerStopped, recordWorkerHeartbeat, registerWorker } from "../server/domain/worker/register-worker.ts";
import { maskDatabaseUrl } from "../server/env.ts";
import { ensureTrainQueue, queueOf, TRAIN_QUEUE, ZTrainJob } from "../server/queue/boss.ts";
import type { RunSource, RunStore } from "./run-store.ts";

/** How often an idle slot looks for work when no NOTIFY arrives (NOTIFY wakes it at once). */
const POLLING_SECONDS = 1;

/**
 * A worker on the shared PostgreSQL (DATABASE_URL): claims runs with pg-boss, woken by LISTEN/NOTIFY
 * when a run is queued, writes through the domain functions, and requeues runs whose worker went silent.
 */
export async function connectToDatabase(databaseUrl: string, options: { slots: number; checkpointDir: string | null; staleSeconds: number; log: (line: string) => void }): Promise<RunSource> {
  const db = createDb(databaseUrl);
  const boss = new PgBoss({ connectionString: databaseUrl, max: Math.max(4, options.slots + 2), useListenNotify: true });
  boss.on("error", (error) => console.error(`worker: queue: ${error instanceof Error ? error.message : String(error)}`));
  try {
    await db.$queryRaw`SELECT 1`;
    await boss.start();
    await ensureTrainQueue(boss);
  } catch (error) {
    await boss.stop({ graceful: false, close: true }).catch(() => undefined);
    await db.$disconnect();
    throw new Error(`cannot reach the database at ${maskDatabaseUrl(databaseUrl)}: ${error instanceof Error ? error.message : error}`);
  }
  const queue = queueOf(boss);
  let stopping = false;

  const store: RunStore = {
    where: maskDatabaseUrl(databaseUrl),
    apiUrl: process.env.SCALEBOARD_API_URL || null,
    registerWorker: async (identity) => void (await registerWorker(db, identity)),
    recordWorkerHeartbeat: (name) => recordWorkerHeartbeat(db, name),
    markWorkerStopped: (name) => markWorkerStopped(db, name),
    recordHeartbeat: (run, progress) => recordRunHeartbeat(db, run.id, run.attempt, progress),
    writePoints: (run, points) => ingestPointsForAttempt(db, run.id, run.attempt, points),
    appendLogs: (run, lines) => appendRunLog(db, run.id, run.attempt, lines),
    saveCheckpoint: (run, step, data) => saveCheckpoint(db, run, step, data, options.checkpointDir),
    loadCheckpoint: async (run) => run.checkpoint?.data ?? (run.checkpoint?.path ? new Uint8Array(await readFile(run.checkpoint.path)) : null),
    finish: (run, outcome) => finishRun(db, run.id, run.attempt, outcome),
    release: (run, reason) => requeueRun(db, queue, run.id, { attempt: run.attempt, reason, graceful: true }),
    createRunKey: (run) => createRunKey(db, run.id),
  };

  return {
    store,
    async startClaiming(slots, workerName, handle) {
      await boss.work(TRAIN_QUEUE, { localConcurrency: slots, batchSize: 1, pollingIntervalSeconds: POLLING_SECONDS, notifyPollingIntervalSeconds: POLLING_SECONDS }, async ([job]) => {
        if (!job) return;
        const { runId } = ZTrainJob.parse(job.data);
        if (stopping) {
          await requeueUnclaimedRun(db, queue, runId);
          return;
        }
        const claimed = await claimRun(db, runId, workerName);
        if (claimed.kind === "skipped") return;
        await discardPointsAfter(db, runId, claimed.run.checkpoint?.step ?? null);
        await handle(claimed.run);
      });
    },
    async stopClaiming() {
      stopping = true;
      await boss.offWork(TRAIN_QUEUE).catch(() => undefined);
    },
    async upkeep(workerName) {
      await store.recordWorkerHeartbeat(workerName).catch(() => undefined);
      const { requeued, failed } = await requeueStaleRuns(db, queue, options.staleSeconds).catch(() => ({ requeued: [], failed: [] }));
      if (requeued.length) options.log(`resumed ${requeued.length} run(s) whose worker went silent`);
      if (failed.length) options.log(`${failed.length} run(s) failed after their last attempt`);
    },
    async close() {
      await boss.stop({ graceful: false, close: true }).catch(() => undefined);
      await db.$disconnect();
    },
  };
}
