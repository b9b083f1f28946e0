import { readFile } from "node:fs/promises";
import pg from "pg";
import { PgBoss, type Job } from "pg-boss";
import { createDb } from "../server/db.ts";
import { createRunKey } from "../server/domain/api-key/create-run-key.ts";
import { saveCheckpoint } from "../server/domain/checkpoint/save-checkpoint.ts";
import { discardPointsAfter, ingestPointsForAttempt } from "../server/domain/metrics/ingest-points.ts";
import { appendRunLog } from "../server/domain/run/append-run-log.ts";
import { claimRun } from "../server/domain/run/claim-run.ts";
import { finishRun } from "../server/domain/run/finish-run.ts";
import { recordRunHeartbeat } from "../server/domain/run/record-run-heartbeat.ts";
import { requeueRun, requeueStaleRuns, requeueUnclaimedRun } from "../server/domain/run/requeue-run.ts";
import { RUN_EVENTS_CHANNEL } from "../server/domain/run/run-events.ts";
import { crashSilentTrackedRuns } from "../server/domain/tracking/crash-silent-runs.ts";
import { markWorkerStopped, recordWorkerHeartbeat, registerWorker } from "../server/domain/worker/register-worker.ts";
import { maskDatabaseUrl } from "../server/env.ts";
import { logger, messageOf, runLogger } from "../server/log.ts";
import {
  ensureRunQueues,
  queueOf,
  queuesFor,
  ZTrainJob,
  type RunQueueName,
  type TrainJob,
} from "../server/queue/boss.ts";
import type { ClaimedRun, RunSource, RunStore } from "./run-store.ts";

/** How often idle slots look for work when no NOTIFY arrives (a queued run's NOTIFY wakes them at once). */
const POLL_MS = 1_000;
/** Fetched jobs are touched well within the queue's 30 s heartbeat, so pg-boss never expires a running one. */
const JOB_TOUCH_MS = 10_000;

export type DatabaseSourceOptions = {
  slots: number;
  checkpointDir: string | null;
  staleSeconds: number;
  /** The operator's --allow-commands: only then does this worker take jobs from the command queue. */
  allowCommands: boolean;
  /** SCALEBOARD_API_URL: where a command run's script logs to. */
  apiUrl: string | null;
  log: (line: string) => void;
};

/**
 * A worker on the shared PostgreSQL (DATABASE_URL): fetches jobs from pg-boss's run queues (the
 * command queue first, and only when commands are allowed) into its free slots, woken by the
 * NOTIFY every queued run sends, writes through the domain functions, and requeues runs whose
 * worker went silent.
 */
export async function connectToDatabase(databaseUrl: string, options: DatabaseSourceOptions): Promise<RunSource> {
  const db = createDb(databaseUrl);
  const boss = new PgBoss({
    connectionString: databaseUrl,
    max: Math.max(4, options.slots + 2),
    useListenNotify: true,
  });
  boss.on("error", (error) => logger().error({ err: error }, `queue: ${messageOf(error)}`));
  try {
    await db.$queryRaw`SELECT 1`;
    await boss.start();
    await ensureRunQueues(boss);
  } catch (error) {
    // The error thrown just below says what failed; stopping a half-started pg-boss may fail too.
    await boss.stop({ graceful: false, close: true }).catch(() => undefined);
    await db.$disconnect();
    throw new Error(
      `cannot reach the database at ${maskDatabaseUrl(databaseUrl)}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const queue = queueOf(boss);
  let stopping = false;

  const store: RunStore = {
    where: maskDatabaseUrl(databaseUrl),
    apiUrl: options.apiUrl,
    registerWorker: async (identity) =>
      void (await registerWorker(db, { ...identity, allowsCommands: options.allowCommands })),
    recordWorkerHeartbeat: (name) => recordWorkerHeartbeat(db, name),
    markWorkerStopped: (name) => markWorkerStopped(db, name),
    recordHeartbeat: (run, progress) => recordRunHeartbeat(db, run.id, run.attempt, progress),
    writePoints: (run, points) => ingestPointsForAttempt(db, run.id, run.attempt, points),
    appendLogs: (run, lines) => appendRunLog(db, run.id, run.attempt, lines),
    saveCheckpoint: (run, step, data) => saveCheckpoint(db, run, step, data, options.checkpointDir),
    loadCheckpoint: async (run) =>
      run.checkpoint?.data ?? (run.checkpoint?.path ? new Uint8Array(await readFile(run.checkpoint.path)) : null),
    finish: (run, outcome) => finishRun(db, run.id, run.attempt, outcome),
    release: (run, reason) => requeueRun(db, queue, run.id, { attempt: run.attempt, reason, graceful: true }),
    createRunKey: (run) => createRunKey(db, run.id),
  };

  // Wake-ups: every enqueue publishes a "queued" run event (server/domain/run/run-events.ts).
  let woken = false;
  let wakeUp: (() => void) | null = null;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) return resolve();
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      woken = false;
      wakeUp = null;
    });
  // A lost connection (PostgreSQL restarting) is opened again; meanwhile the poll finds new runs.
  let listener: pg.Client | null = null;
  let closing = false;
  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    listener = client;
    let reopening = false;
    const reopen = () => {
      if (reopening || closing) return;
      reopening = true;
      // The connection is already broken; ending it may fail too and says nothing new.
      void client.end().catch(() => undefined);
      setTimeout(() => void listen(), POLL_MS).unref();
    };
    client.on("error", reopen);
    client.on("end", reopen);
    client.on("notification", (message) => {
      if (message.payload?.includes('"queued"')) wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    } catch (error) {
      logger().warn({ err: error }, `listening for queued runs failed (polling meanwhile): ${messageOf(error)}`);
      reopen();
    }
  };
  await listen();
  let dispatcher: Promise<void> = Promise.resolve();
  const claimsInFlight = new Set<Promise<unknown>>();

  return {
    store,
    async startClaiming(slots, workerName, handle) {
      const queues = queuesFor(options.allowCommands);
      const claimant = { workerName, allowCommands: options.allowCommands };
      let free = slots;

      const take = async (queueName: RunQueueName, job: Job<TrainJob>) => {
        const touch = setInterval(
          () =>
            void boss
              .touch(queueName, job.id)
              .catch((error: unknown) =>
                logger().debug({ err: error, jobId: job.id }, `touching the job failed: ${messageOf(error)}`),
              ),
          JOB_TOUCH_MS,
        );
        try {
          const { runId } = ZTrainJob.parse(job.data);
          // Until the run is claimed or given back, stopClaiming waits for this step.
          const claiming = (async (): Promise<ClaimedRun | null> => {
            if (stopping) {
              await requeueUnclaimedRun(db, queue, runId);
              return null;
            }
            const claimed = await claimRun(db, runId, claimant);
            if (claimed.kind === "claimed") return claimed.run;
            // A command run's job sent to the built-in queue before command runs had their own: moved there, unclaimed.
            if (claimed.commandRefused) await requeueUnclaimedRun(db, queue, runId);
            return null;
          })();
          claimsInFlight.add(claiming);
          const run = await claiming.finally(() => claimsInFlight.delete(claiming));
          if (run) {
            await discardPointsAfter(db, runId, run.checkpoint?.step ?? null);
            await handle(run);
          }
          await boss
            .complete(queueName, job.id)
            .catch((error: unknown) =>
              logger().warn(
                { err: error, jobId: job.id },
                `completing the job failed (the run row is the source of truth): ${messageOf(error)}`,
              ),
            );
        } catch (error) {
          logger().error({ err: error, jobId: job.id }, `job failed: ${messageOf(error)}`);
          await boss
            .fail(queueName, job.id, { message: messageOf(error) })
            .catch((failError: unknown) =>
              logger().warn(
                { err: failError, jobId: job.id },
                `marking the job failed failed: ${messageOf(failError)}`,
              ),
            );
        } finally {
          clearInterval(touch);
        }
      };

      dispatcher = (async () => {
        while (!stopping) {
          let fetched = 0;
          for (const queueName of queues) {
            if (free === 0 || stopping) break;
            const jobs = await boss.fetch<TrainJob>(queueName, { batchSize: free }).catch((error: unknown) => {
              logger().warn({ err: error, queue: queueName }, `fetching jobs failed: ${messageOf(error)}`);
              return [];
            });
            for (const job of jobs) {
              free -= 1;
              fetched += 1;
              void take(queueName, job).finally(() => {
                free += 1;
                wake();
              });
            }
          }
          if (stopping) break;
          if (fetched === 0 || free === 0) await nap(POLL_MS);
        }
      })();
    },
    async stopClaiming() {
      stopping = true;
      wake();
      await dispatcher;
      await Promise.allSettled([...claimsInFlight]);
      // A run claimed just now reaches the worker's hands (and is given back) before this returns.
      await new Promise((resolve) => setImmediate(resolve));
    },
    async upkeep(workerName) {
      await store
        .recordWorkerHeartbeat(workerName)
        .catch((error: unknown) => logger().warn({ err: error }, `the worker's heartbeat failed: ${messageOf(error)}`));
      const { requeued, failed } = await requeueStaleRuns(db, queue, options.staleSeconds).catch((error: unknown) => {
        logger().warn({ err: error }, `requeueing runs whose worker went silent failed: ${messageOf(error)}`);
        return { requeued: [], failed: [] };
      });
      for (const id of requeued) runLogger(id).info("resumed elsewhere: its worker went silent");
      if (requeued.length) options.log(`resumed ${requeued.length} run(s) whose worker went silent`);
      if (failed.length) options.log(`${failed.length} run(s) failed after their last attempt`);
      const crashed = await crashSilentTrackedRuns(db, options.staleSeconds).catch((error: unknown) => {
        logger().warn({ err: error }, `marking silent HTTP-tracked runs crashed failed: ${messageOf(error)}`);
        return [];
      });
      for (const id of crashed) runLogger(id).info("crashed: its script went silent");
      if (crashed.length) options.log(`${crashed.length} HTTP-tracked run(s) crashed: their scripts went silent`);
    },
    async close() {
      closing = true;
      // Shutting down: a connection that is already gone cannot be closed twice; nothing is lost.
      await listener?.end().catch(() => undefined);
      await boss.stop({ graceful: false, close: true }).catch(() => undefined);
      await db.$disconnect();
    },
  };
}
