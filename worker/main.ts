import os from "node:os";
import { parseArgs } from "node:util";
import { defaultWorkerName } from "../server/domain/worker/register-worker.ts";
import { EnvError, parseEnv } from "../server/env.ts";
import { connectToDatabase } from "./database-source.ts";
import { runBuiltin, type SlotContext } from "./run-builtin.ts";
import { runCommand } from "./run-command.ts";
import { startTrainingProcesses } from "./training-pool.ts";
import { HEARTBEAT_SECONDS, RunSession } from "./run-session.ts";
import type { ClaimedRun, RunSource } from "./run-store.ts";
import { connectToServer, WorkerApiError } from "./server-source.ts";

/**
 * `scaleboard worker [--slots N] [--gpus 0,1] [--name NAME] [--server URL]`: claims queued runs and
 * trains each in a child process (one per slot), so heartbeats and cancellation keep flowing. It works
 * on the shared PostgreSQL (DATABASE_URL, pg-boss) or, with --server and a worker-scoped API key in
 * SCALEBOARD_API_KEY, only through the server's HTTP worker API. Runs whose worker went silent for 3
 * heartbeat intervals are resumed elsewhere from their checkpoint.
 */
const STALE_SECONDS = Number(process.env.SCALEBOARD_STALE_SECONDS ?? 3 * HEARTBEAT_SECONDS);
const SHUTDOWN_DEADLINE_MS = 9_000;

function fail(message: string, code = 2): never {
  console.error(`worker: ${message}`);
  process.exit(code);
}

/** A positive number from the environment, or undefined when unset. */
function positiveEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (!raw) return undefined;
  const value = Number(raw);
  if (!(value > 0)) fail(`${name} must be a positive number (got ${raw})`);
  return value;
}

/** A worker's own SCALEBOARD_CHECKPOINT_STEPS / _SECONDS override the spec's `checkpoint:` block (e.g. on preemptible hosts). */
const checkpointOverride = { steps: positiveEnv("SCALEBOARD_CHECKPOINT_STEPS"), seconds: positiveEnv("SCALEBOARD_CHECKPOINT_SECONDS") };

function checkpointEvery(run: ClaimedRun): { steps?: number; seconds?: number } {
  const steps = checkpointOverride.steps ?? run.checkpointEvery?.steps;
  const seconds = checkpointOverride.seconds ?? run.checkpointEvery?.seconds ?? 60;
  return { ...(steps ? { steps } : {}), seconds };
}

async function main() {
  const { values } = parseArgs({
    options: { name: { type: "string" }, slots: { type: "string" }, gpus: { type: "string" }, server: { type: "string" } },
    allowPositionals: false,
  });
  const env = parseEnv();
  const gpus = values.gpus ? values.gpus.split(",").map((gpu) => Number(gpu.trim())) : null;
  if (gpus && gpus.some((gpu) => !Number.isInteger(gpu) || gpu < 0)) fail(`--gpus takes GPU indices such as 0,1 (got ${values.gpus})`);
  const slots = gpus ? gpus.length : values.slots ? Number(values.slots) : os.availableParallelism();
  if (!Number.isInteger(slots) || slots < 1) fail(`--slots must be a whole number of at least 1 (got ${values.slots})`);
  const name = values.name ?? defaultWorkerName();
  const log = (line: string) => console.log(`worker ${name}: ${line}`);

  let source: RunSource;
  if (values.server) {
    const apiKey = process.env.SCALEBOARD_API_KEY;
    if (!apiKey) fail("--server needs a worker API key in SCALEBOARD_API_KEY (create one with scope worker on the Team page)");
    if (!URL.canParse(values.server) || !/^https?:$/.test(new URL(values.server).protocol)) fail(`--server takes the server's address, such as https://scaleboard.example.com (got ${values.server})`);
    if (process.env.SCALEBOARD_CHECKPOINT_DIR) log("SCALEBOARD_CHECKPOINT_DIR is ignored with --server: the server stores checkpoints by its own setting");
    source = await connectToServer(values.server, apiKey);
  } else {
    if (!env.DATABASE_URL) fail("DATABASE_URL is not set (npm start sets it; on another host point it at the shared PostgreSQL, or use --server URL with a worker API key)");
    source = await connectToDatabase(env.DATABASE_URL, { slots, checkpointDir: process.env.SCALEBOARD_CHECKPOINT_DIR || null, staleSeconds: STALE_SECONDS, log }).catch((error: unknown) => fail((error as Error).message, 1));
  }
  const { store } = source;
  try {
    await store.registerWorker({ name, host: os.hostname(), pid: process.pid, slots, backend: null });
  } catch (error) {
    await source.close();
    if (error instanceof WorkerApiError && (error.status === 401 || error.status === 403)) fail(`${store.where} refused the API key: ${error.message}`);
    fail(`cannot register with ${store.where}: ${(error as Error).message}`, 1);
  }
  const shutdown = new AbortController();
  const freeGpus = gpus ? [...gpus] : [];
  const active = new Set<Promise<unknown>>();
  console.log(`worker ${name} ready: ${slots} slot${slots === 1 ? "" : "s"}${gpus ? ` on GPUs ${gpus.join(",")}` : ""}${values.server ? ` via ${values.server}` : ""}`);

  const handle = async (run: ClaimedRun) => {
    log(`run ${run.id} (${run.name}) attempt ${run.attempt}${run.checkpoint ? ` from step ${run.checkpoint.step}` : ""}`);
    const gpu = gpus ? (freeGpus.shift() ?? null) : null;
    const slot: SlotContext = { store, gpu, checkpointEvery: checkpointEvery(run) };
    const session = new RunSession(store, run, (error) => console.error(`worker: run ${run.id}: ${error instanceof Error ? error.message : String(error)}`));
    try {
      const end = run.config.runner?.kind === "command" ? await runCommand(session, slot, shutdown.signal) : await runBuiltin(session, slot, shutdown.signal);
      log(`run ${run.id} ${end}`);
    } finally {
      if (gpu !== null) freeGpus.push(gpu);
    }
  };

  startTrainingProcesses(gpus ?? Array.from({ length: slots }, () => null));
  await source.startClaiming(slots, name, async (run) => {
    const work = handle(run);
    active.add(work);
    try {
      await work;
    } finally {
      active.delete(work);
    }
  });

  const timers = [setInterval(() => void source.upkeep(name).catch(() => undefined), 5_000)];

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`worker ${name}: ${signal}: checkpointing ${active.size} run(s) and giving them back to the queue`);
    const deadline = setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS + 1_000);
    shutdown.abort();
    await source.stopClaiming();
    await Promise.race([Promise.allSettled([...active]), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DEADLINE_MS))]);
    for (const timer of timers) clearInterval(timer);
    await store.markWorkerStopped(name).catch(() => undefined);
    await source.close();
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
