import os from "node:os";
import { parseArgs } from "node:util";
import { createDb } from "../server/db.ts";
import { EnvError, maskDatabaseUrl, parseEnv } from "../server/env.ts";
import { defaultWorkerName, markWorkerStopped, recordWorkerHeartbeat, registerWorker } from "../server/domain/worker/register-worker.ts";

/**
 * The worker process. Until the queue lands it registers itself and keeps a heartbeat,
 * so health and the Workers page show it alive.
 */
const HEARTBEAT_MS = 5_000;

async function main() {
  const { values } = parseArgs({
    options: { name: { type: "string" }, slots: { type: "string" } },
    allowPositionals: false,
  });
  const env = parseEnv();
  if (!env.DATABASE_URL) {
    console.error("worker: DATABASE_URL is not set (npm start sets it; on another host point it at the shared PostgreSQL)");
    process.exit(2);
  }
  const slots = values.slots ? Number(values.slots) : os.availableParallelism();
  if (!Number.isInteger(slots) || slots < 1) {
    console.error(`worker: --slots must be a whole number of at least 1 (got ${values.slots})`);
    process.exit(2);
  }
  const name = values.name ?? defaultWorkerName();
  const db = createDb(env.DATABASE_URL);
  try {
    await registerWorker(db, { name, host: os.hostname(), pid: process.pid, slots });
  } catch (error) {
    console.error(`worker: cannot reach the database at ${maskDatabaseUrl(env.DATABASE_URL)}: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
  console.log(`worker ${name} ready (${slots} slot${slots === 1 ? "" : "s"})`);

  const timer = setInterval(() => {
    recordWorkerHeartbeat(db, name).catch((error: unknown) => console.error(`worker: heartbeat failed: ${error instanceof Error ? error.message : error}`));
  }, HEARTBEAT_MS);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await markWorkerStopped(db, name).catch(() => undefined);
    await db.$disconnect();
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
