import os from "node:os";
import { parseArgs } from "node:util";
import { defaultWorkerName } from "../server/domain/worker/register-worker.ts";
import { EnvError, parseEnv, type Env } from "../server/env.ts";
import { logger, messageOf } from "../server/log.ts";
import { connectToDatabase } from "./database-source.ts";
import { runBuiltin, type SlotContext } from "./run-builtin.ts";
import { runCommand } from "./run-command.ts";
import { resolveRunAs, RunAsError } from "./run-as.ts";
import { startTrainingProcesses } from "./training-pool.ts";
import { DEFAULT_STALE_SECONDS, RunSession } from "./run-session.ts";
import type { ClaimedRun, RunSource } from "./run-store.ts";
import { connectToServer, WorkerApiError } from "./server-source.ts";

/**
 * `scaleboard worker [--slots N] [--gpus 0,1] [--name NAME] [--server URL] [--allow-commands]
 * [--run-as USER]`: claims queued runs and trains each in a child process (one per slot), so
 * heartbeats and cancellation keep flowing. It works on the shared PostgreSQL (DATABASE_URL, pg-boss)
 * or, with --server and a worker-scoped API key in SCALEBOARD_API_KEY, only through the server's HTTP
 * worker API. Runs whose worker went silent longer than SCALEBOARD_STALE_SECONDS (30 s) are resumed
 * elsewhere from their checkpoint. `runner: command` runs execute programs on this host: the worker takes them only
 * when its operator says so (--allow-commands or SCALEBOARD_ALLOW_COMMANDS=1), and a root worker
 * runs them as --run-as USER (SCALEBOARD_RUN_AS).
 */
const SHUTDOWN_DEADLINE_MS = 9_000;

function fail(message: string, code = 2): never {
  console.error(`worker: ${message}`);
  process.exit(code);
}

/** A worker's own SCALEBOARD_CHECKPOINT_STEPS / _SECONDS override the spec's `checkpoint:` block (e.g. on preemptible hosts). */
function checkpointEvery(env: Env, run: ClaimedRun): { steps?: number; seconds?: number } {
  const steps = env.SCALEBOARD_CHECKPOINT_STEPS ?? run.checkpointEvery?.steps;
  const seconds = env.SCALEBOARD_CHECKPOINT_SECONDS ?? run.checkpointEvery?.seconds ?? 60;
  return { ...(steps ? { steps } : {}), seconds };
}

async function main() {
  const { values } = parseArgs({
    options: {
      name: { type: "string" },
      slots: { type: "string" },
      gpus: { type: "string" },
      server: { type: "string" },
      "allow-commands": { type: "boolean" },
      "run-as": { type: "string" },
    },
    allowPositionals: false,
  });
  const env = parseEnv();
  const allowCommands = Boolean(values["allow-commands"]) || env.SCALEBOARD_ALLOW_COMMANDS;
  let runAs: ReturnType<typeof resolveRunAs>;
  try {
    runAs = resolveRunAs(values["run-as"] ?? env.SCALEBOARD_RUN_AS, allowCommands);
  } catch (error) {
    if (error instanceof RunAsError) fail(error.message);
    throw error;
  }
  const gpus = values.gpus ? values.gpus.split(",").map((gpu) => Number(gpu.trim())) : null;
  if (gpus?.some((gpu) => !Number.isInteger(gpu) || gpu < 0))
    fail(`--gpus takes GPU indices such as 0,1 (got ${values.gpus})`);
  const slots = gpus ? gpus.length : values.slots ? Number(values.slots) : os.availableParallelism();
  if (!Number.isInteger(slots) || slots < 1) fail(`--slots must be a whole number of at least 1 (got ${values.slots})`);
  const name = values.name ?? defaultWorkerName();
  // Every log line of this process names the worker; a run's lines add its runId.
  logger().setBindings({ worker: name });
  const log = (line: string) => console.log(`worker ${name}: ${line}`);

  let source: RunSource;
  if (values.server) {
    const apiKey = env.SCALEBOARD_API_KEY;
    if (!apiKey)
      fail("--server needs a worker API key in SCALEBOARD_API_KEY (create one with scope worker on the Team page)");
    if (!URL.canParse(values.server) || !/^https?:$/.test(new URL(values.server).protocol))
      fail(`--server takes the server's address, such as https://scaleboard.example.com (got ${values.server})`);
    if (env.SCALEBOARD_CHECKPOINT_DIR)
      log("SCALEBOARD_CHECKPOINT_DIR is ignored with --server: the server stores checkpoints by its own setting");
    source = await connectToServer(values.server, apiKey, {
      allowCommands,
      apiUrl: env.SCALEBOARD_API_URL ?? null,
      claimPollMs: env.SCALEBOARD_CLAIM_POLL_MS,
    });
  } else {
    if (!env.DATABASE_URL)
      fail(
        "DATABASE_URL is not set (npm start sets it; on another host point it at the shared PostgreSQL, or use --server URL with a worker API key)",
      );
    const options = {
      slots,
      checkpointDir: env.SCALEBOARD_CHECKPOINT_DIR ?? null,
      staleSeconds: env.SCALEBOARD_STALE_SECONDS ?? DEFAULT_STALE_SECONDS,
      allowCommands,
      apiUrl: env.SCALEBOARD_API_URL ?? null,
      log,
    };
    source = await connectToDatabase(env.DATABASE_URL, options).catch((error: unknown) =>
      fail((error as Error).message, 1),
    );
  }
  const { store } = source;
  try {
    await store.registerWorker({
      name,
      host: os.hostname(),
      pid: process.pid,
      slots,
      backend: null,
      allowsCommands: allowCommands,
    });
  } catch (error) {
    await source.close();
    if (error instanceof WorkerApiError && (error.status === 401 || error.status === 403))
      fail(`${store.where} refused the API key: ${error.message}`);
    fail(`cannot register with ${store.where}: ${(error as Error).message}`, 1);
  }
  const shutdown = new AbortController();
  const freeGpus = gpus ? [...gpus] : [];
  const active = new Set<Promise<unknown>>();
  if (runAs.warning) console.error(`worker ${name}: warning: ${runAs.warning}`);
  const commands = allowCommands
    ? `runs commands${runAs.user ? ` as ${runAs.user.name}` : ""}`
    : "command runs not allowed (--allow-commands)";
  console.log(
    `worker ${name} ready: ${slots} slot${slots === 1 ? "" : "s"}${gpus ? ` on GPUs ${gpus.join(",")}` : ""}${values.server ? ` via ${values.server}` : ""}; ${commands}`,
  );

  const handle = async (run: ClaimedRun) => {
    log(
      `run ${run.id} (${run.name}) attempt ${run.attempt}${run.checkpoint ? ` from step ${run.checkpoint.step}` : ""}`,
    );
    const gpu = gpus ? (freeGpus.shift() ?? null) : null;
    const slot: SlotContext = { store, gpu, checkpointEvery: checkpointEvery(env, run) };
    const session = new RunSession(store, run);
    try {
      const end =
        run.config.runner?.kind === "command"
          ? await runCommand(session, slot, shutdown.signal, { runAs: runAs.user })
          : await runBuiltin(session, slot, shutdown.signal);
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

  const timers = [
    setInterval(
      () =>
        void source
          .upkeep(name)
          .catch((error: unknown) =>
            logger().warn({ err: error }, `upkeep (heartbeat, stale runs) failed: ${messageOf(error)}`),
          ),
      5_000,
    ),
  ];

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`worker ${name}: ${signal}: checkpointing ${active.size} run(s) and giving them back to the queue`);
    const deadline = setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS + 1_000);
    shutdown.abort();
    await source.stopClaiming();
    await Promise.race([
      Promise.allSettled([...active]),
      new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DEADLINE_MS)),
    ]);
    for (const timer of timers) clearInterval(timer);
    await store
      .markWorkerStopped(name)
      .catch((error: unknown) =>
        logger().warn(
          { err: error },
          `cannot mark the worker stopped (it shows as silent until then): ${messageOf(error)}`,
        ),
      );
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
