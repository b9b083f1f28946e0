import os from "node:os";
import { parseArgs } from "node:util";
import { PgBoss } from "pg-boss";
import { createDb } from "../server/db.ts";
import { discardPointsAfter } from "../server/domain/metrics/ingest-points.ts";
import { claimRun } from "../server/domain/run/claim-run.ts";
import { requeueStaleRuns, requeueUnclaimedRun } from "../server/domain/run/requeue-run.ts";
import { defaultWorkerName, markWorkerStopped, recordWorkerHeartbeat, registerWorker } from "../server/domain/worker/register-worker.ts";
import { EnvError, maskDatabaseUrl, parseEnv } from "../server/env.ts";
import { ensureTrainQueue, queueOf, TRAIN_QUEUE, ZTrainJob } from "../server/queue/boss.ts";
import { runBuiltin, type SlotContext } from "./run-builtin.ts";
import { runCommand } from "./run-command.ts";
import { HEARTBEAT_SECONDS, RunSession } from "./run-session.ts";

/**
 * `scaleboard worker [--slots N] [--gpus 0,1] [--name NAME]`: claims queued runs with pg-boss and
 * trains each in a child process (one per slot), so heartbeats and cancellation keep flowing.
 * Runs whose worker went silent for 3 heartbeat intervals are resumed elsewhere from their checkpoint.
 */
const STALE_SECONDS = Number(process.env.SCALEBOARD_STALE_SECONDS ?? 3 * HEARTBEAT_SECONDS);
const SHUTDOWN_DEADLINE_MS = 9_000;

function fail(message: string, code = 2): never {
  console.error(`worker: ${message}`);
  process.exit(code);
}

async function main() {
  const { values } = parseArgs({
    options: { name: { type: "string" }, slots: { type: "string" }, gpus: { type: "string" } },
    allowPositionals: false,
  });
  const env = parseEnv();
  if (!env.DATABASE_URL) fail("DATABASE_URL is not set (npm start sets it; on another host point it at the shared PostgreSQL)");
  const gpus = values.gpus ? values.gpus.split(",").map((gpu) => Number(gpu.trim())) : null;
  if (gpus && gpus.some((gpu) => !Number.isInteger(gpu) || gpu < 0)) fail(`--gpus takes GPU indices such as 0,1 (got ${values.gpus})`);
  const slots = gpus ? gpus.length : values.slots ? Number(values.slots) : os.availableParallelism();
  if (!Number.isInteger(slots) || slots < 1) fail(`--slots must be a whole number of at least 1 (got ${values.slots})`);
  const name = values.name ?? defaultWorkerName();
  const checkpointDir = process.env.SCALEBOARD_CHECKPOINT_DIR || null;
  const checkpointSeconds = Number(process.env.SCALEBOARD_CHECKPOINT_SECONDS ?? 30);
  const checkpointSteps = process.env.SCALEBOARD_CHECKPOINT_STEPS ? Number(process.env.SCALEBOARD_CHECKPOINT_STEPS) : undefined;

  const db = createDb(env.DATABASE_URL);
  const boss = new PgBoss({ connectionString: env.DATABASE_URL, max: Math.max(4, slots + 2) });
  boss.on("error", (error) => console.error(`worker: queue: ${error instanceof Error ? error.message : String(error)}`));
  try {
    await registerWorker(db, { name, host: os.hostname(), pid: process.pid, slots, backend: null });
    await boss.start();
    await ensureTrainQueue(boss);
  } catch (error) {
    fail(`cannot reach the database at ${maskDatabaseUrl(env.DATABASE_URL)}: ${error instanceof Error ? error.message : error}`, 1);
  }
  const queue = queueOf(boss);
  const shutdown = new AbortController();
  const freeGpus = gpus ? [...gpus] : [];
  const active = new Set<Promise<unknown>>();
  console.log(`worker ${name} ready: ${slots} slot${slots === 1 ? "" : "s"}${gpus ? ` on GPUs ${gpus.join(",")}` : ""}`);

  const handle = async (runId: string) => {
    if (shutdown.signal.aborted) {
      await requeueUnclaimedRun(db, queue, runId);
      return;
    }
    const claimed = await claimRun(db, runId, name);
    if (claimed.kind === "skipped") return;
    const { run } = claimed;
    console.log(`worker ${name}: run ${run.id} (${run.name}) attempt ${run.attempt}${run.checkpoint ? ` from step ${run.checkpoint.step}` : ""}`);
    await discardPointsAfter(db, run.id, run.checkpoint?.step ?? null);
    const gpu = gpus ? (freeGpus.shift() ?? null) : null;
    const slot: SlotContext = { db, gpu, checkpointDir, checkpointEvery: { seconds: checkpointSeconds, ...(checkpointSteps ? { steps: checkpointSteps } : {}) } };
    const session = new RunSession(db, queue, run, (error) => console.error(`worker: run ${run.id}: ${error instanceof Error ? error.message : String(error)}`));
    try {
      const end = run.config.runner?.kind === "command" ? await runCommand(session, slot, shutdown.signal) : await runBuiltin(session, slot, shutdown.signal);
      console.log(`worker ${name}: run ${run.id} ${end}`);
    } finally {
      if (gpu !== null) freeGpus.push(gpu);
    }
  };

  await boss.work(TRAIN_QUEUE, { localConcurrency: slots, batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
    if (!job) return;
    const { runId } = ZTrainJob.parse(job.data);
    const work = handle(runId);
    active.add(work);
    try {
      await work;
    } finally {
      active.delete(work);
    }
  });

  const timers = [
    setInterval(() => void recordWorkerHeartbeat(db, name).catch(() => undefined), 5_000),
    setInterval(() => {
      void requeueStaleRuns(db, queue, STALE_SECONDS)
        .then(({ requeued, failed }) => {
          if (requeued.length) console.log(`worker ${name}: resumed ${requeued.length} run(s) whose worker went silent`);
          if (failed.length) console.log(`worker ${name}: ${failed.length} run(s) failed after their last attempt`);
        })
        .catch(() => undefined);
    }, 5_000),
  ];

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`worker ${name}: ${signal}: checkpointing ${active.size} run(s) and giving them back to the queue`);
    const deadline = setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS + 1_000);
    shutdown.abort();
    await boss.offWork(TRAIN_QUEUE).catch(() => undefined);
    await Promise.race([Promise.allSettled([...active]), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DEADLINE_MS))]);
    for (const timer of timers) clearInterval(timer);
    await markWorkerStopped(db, name).catch(() => undefined);
    await boss.stop({ graceful: false, close: true }).catch(() => undefined);
    await db.$disconnect();
    clearTimeout(deadline);
    console.log(`worker ${name} stopped (${signal})`);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error: unknown) => {
  console.error(error instanceof EnvError ? error.message : error);
  process.exit(error instanceof EnvError ? 2 : 1);
});
