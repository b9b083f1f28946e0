import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import pg from "pg";
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedDatabase } from "../database/embedded-postgres.ts";
import { MigrationError, migrateDatabase } from "../database/migrate.ts";
import { authMode, dataDir, EnvError, environmentForChild, maskDatabaseUrl, parseEnv } from "../env.ts";

/**
 * `npm start`: one command for the whole product. Starts (or reuses) the database, migrates it,
 * builds the web app if no build exists, runs the web server and the worker processes (each
 * restarted with backoff if it exits unexpectedly), and on Ctrl-C or SIGTERM stops all of them,
 * the embedded PostgreSQL last.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const require = createRequire(import.meta.url);

/** A process that exits unexpectedly is started again after 1 s, then 2, 4, ... up to 30 s; a minute up resets the wait. */
const RESTART_FIRST_DELAY_MS = 1_000;
const RESTART_MAX_DELAY_MS = 30_000;
const RESTART_RESET_AFTER_MS = 60_000;

/**
 * How long a stopping child may take before it is killed: longer than a worker's own deadline
 * (worker/main.ts: 9 s to checkpoint its runs, then it marks itself stopped and exits), so a
 * worker is never killed before it could say it stopped.
 */
const CHILD_STOP_DEADLINE_MS = 15_000;

let shutdownOnError: ((code: number, reason: string) => Promise<void>) | undefined;

class StartError extends Error {
  override name = "StartError";
}

function say(line: string) {
  console.log(`[scaleboard] ${line}`);
}

async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new StartError(
          error.code === "EADDRINUSE"
            ? `Port ${port} is already in use on ${host}. Stop whatever uses it or start with PORT=<another port>.`
            : `Cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

async function assertDatabaseReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new StartError(
      `Cannot reach the database at ${maskDatabaseUrl(url)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: "inherit" });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function waitForHealth(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new StartError(`The web server exited with code ${child.exitCode} before it was ready.`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok || response.status === 503) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new StartError(`The web server did not answer ${url} within ${Math.round(timeoutMs / 1000)} s.`);
}

/** Next.js's start-up banner ("▲ Next.js", "- Local: http://…", "✓ Ready in …"), which Scaleboard's ready line replaces. */
function isNextBanner(line: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Next colours its banner; the colour codes are skipped
  const text = line.replace(/\u001b\[[0-9;]*m/g, "").trim();
  return (
    /^▲ Next\.js\b/.test(text) ||
    /^- (Local|Network|Environments|Experiments|Debugger port):/.test(text) ||
    /^✓ (Starting|Ready in)\b/.test(text)
  );
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code ?? "none"}`;
}

/** One of the product's processes, started again whenever it exits while the product is up. */
type Supervised = {
  name: string;
  onRestart?: (child: ChildProcess) => void;
  current: ChildProcess;
  startedAt: number;
  delayMs: number;
  timer: NodeJS.Timeout | null;
};

/** Sessions are signed with this secret; without BETTER_AUTH_SECRET one is made once and kept in the data folder. */
async function loadOrCreateAuthSecret(folder: string): Promise<string> {
  const file = path.join(folder, "auth-secret");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  await mkdir(folder, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  say(
    `auth: generated a session secret in ${path.relative(process.cwd(), file)} (set BETTER_AUTH_SECRET to choose your own)`,
  );
  return secret;
}

async function main() {
  const { values } = parseArgs({
    options: {
      dev: { type: "boolean", default: false },
      rebuild: { type: "boolean", default: false },
      "own-process-group": { type: "boolean", default: false },
    },
  });
  const env = parseEnv();
  const mode = authMode(env);
  if (mode === "off" && env.HOST && !["127.0.0.1", "localhost", "::1"].includes(env.HOST)) {
    throw new StartError(
      `SCALEBOARD_AUTH=off signs everyone in as the local admin, so it listens on 127.0.0.1 only; unset HOST=${env.HOST} or set SCALEBOARD_AUTH=on.`,
    );
  }
  const host = mode === "off" ? "127.0.0.1" : (env.HOST ?? "0.0.0.0");
  await assertPortFree(host, env.PORT);

  const supervised: Supervised[] = [];
  let embedded: EmbeddedDatabase | undefined;
  let stopping = false;

  async function shutdown(code: number, reason: string) {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason})…`);
    for (const entry of supervised) if (entry.timer) clearTimeout(entry.timer);
    const children = supervised.map((entry) => entry.current);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const force = setTimeout(() => child.kill("SIGKILL"), CHILD_STOP_DEADLINE_MS);
            child.once("exit", () => {
              clearTimeout(force);
              resolve();
            });
          }),
      ),
    );
    if (embedded) await embedded.stop().catch((error: unknown) => console.error(error));
    say("stopped");
    process.exit(code);
  }
  shutdownOnError = shutdown;
  process.on("SIGINT", () => void shutdown(0, "SIGINT"));
  process.on("SIGTERM", () => void shutdown(0, "SIGTERM"));
  process.on("SIGHUP", () => void shutdown(0, "SIGHUP"));

  let databaseUrl = env.DATABASE_URL;
  if (databaseUrl) {
    await assertDatabaseReachable(databaseUrl);
    say(`database: ${maskDatabaseUrl(databaseUrl)}`);
  } else {
    const started = Date.now();
    embedded = await startEmbeddedPostgres({ dataDir: dataDir(env) });
    databaseUrl = embedded.url;
    say(
      `database: embedded PostgreSQL in ${path.relative(process.cwd(), embedded.clusterDir)} on port ${embedded.port} (${Date.now() - started} ms)`,
    );
  }

  const migration = await migrateDatabase(databaseUrl, { log: say });
  say(`migrations: ${migration.applied.length} applied, ${migration.alreadyApplied.length} already up to date`);

  const authSecret =
    mode === "on" ? (env.BETTER_AUTH_SECRET ?? (await loadOrCreateAuthSecret(dataDir(env)))) : undefined;
  const childEnv = environmentForChild({
    ...(authSecret ? { BETTER_AUTH_SECRET: authSecret } : {}),
    DATABASE_URL: databaseUrl,
    SCALEBOARD_AUTH: mode,
    PORT: String(env.PORT),
    HOST: host,
    // Command runs log back through the HTTP API of this server.
    SCALEBOARD_API_URL:
      env.SCALEBOARD_API_URL ??
      `${env.SCALEBOARD_PUBLIC_URL?.replace(/\/$/, "") ?? `http://127.0.0.1:${env.PORT}`}/api/v1`,
    NEXT_TELEMETRY_DISABLED: "1",
  });
  const nextBin = require.resolve("next/dist/bin/next");

  if (
    !values.dev &&
    (values.rebuild || !existsSync(path.join(ROOT, env.SCALEBOARD_NEXT_DIST_DIR ?? ".next", "BUILD_ID")))
  ) {
    say("no production build found: running `next build` (about a minute)…");
    const code = await run(process.execPath, [nextBin, "build"], { ...childEnv, NODE_ENV: "production" });
    if (code !== 0) throw new StartError(`next build failed with exit code ${code}`);
  }

  /**
   * Starts a process and keeps it running: when it exits while the product is up, the log says why
   * and it starts again after a backoff. `restartable` false (the web server before it first
   * answered: a port taken, a broken build) stops the product instead.
   */
  function supervise(name: string, start: () => ChildProcess, restartable: () => boolean = () => true): Supervised {
    const entry: Supervised = {
      name,
      current: start(),
      startedAt: Date.now(),
      delayMs: RESTART_FIRST_DELAY_MS,
      timer: null,
    };
    const watch = (child: ChildProcess) =>
      child.once("exit", (code, signal) => {
        if (stopping) return;
        if (!restartable()) return void shutdown(1, `the ${name} exited unexpectedly (${describeExit(code, signal)})`);
        if (Date.now() - entry.startedAt >= RESTART_RESET_AFTER_MS) entry.delayMs = RESTART_FIRST_DELAY_MS;
        say(
          `the ${name} exited unexpectedly (${describeExit(code, signal)}); restarting it in ${entry.delayMs / 1000} s`,
        );
        entry.timer = setTimeout(() => {
          entry.timer = null;
          if (stopping) return;
          entry.current = start();
          entry.onRestart?.(entry.current);
          entry.startedAt = Date.now();
          watch(entry.current);
          say(`the ${name} restarted (pid ${entry.current.pid})`);
        }, entry.delayMs);
        entry.delayMs = Math.min(entry.delayMs * 2, RESTART_MAX_DELAY_MS);
      });
    watch(entry.current);
    supervised.push(entry);
    return entry;
  }

  const exitWithParent = path.join(ROOT, "scripts/exit-with-parent.cjs");
  let webReady = false;
  const web = supervise(
    "web server",
    () =>
      spawn(
        process.execPath,
        ["--require", exitWithParent, nextBin, values.dev ? "dev" : "start", "-p", String(env.PORT), "-H", host],
        {
          cwd: ROOT,
          env: { ...childEnv, NODE_ENV: values.dev ? "development" : "production" },
          stdio: ["inherit", "pipe", "inherit", "ipc"],
        },
      ),
    () => webReady,
  );
  // Next.js announces its own http://HOST:PORT before Scaleboard is ready: one ready line (ours) is shown.
  const passOutput = (child: ChildProcess) => {
    if (!child.stdout) return;
    createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
      if (!isNextBanner(line)) process.stdout.write(`${line}\n`);
    });
  };
  passOutput(web.current);
  web.onRestart = passOutput;

  for (let index = 0; index < env.SCALEBOARD_WORKERS; index++) {
    supervise(env.SCALEBOARD_WORKERS > 1 ? `worker ${index + 1}` : "worker", () =>
      spawn(process.execPath, ["--require", exitWithParent, "--import", "tsx", path.join(ROOT, "worker/main.ts")], {
        cwd: ROOT,
        env: childEnv,
        stdio: ["inherit", "inherit", "inherit", "ipc"],
      }),
    );
  }

  const probeHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const started = Date.now();
  await waitForHealth(`http://${probeHost}:${env.PORT}/api/health`, 60_000, web.current);
  webReady = true;
  const shownHost = probeHost === "127.0.0.1" ? "localhost" : probeHost;
  say(`ready in ${Date.now() - started} ms: Scaleboard is running at http://${shownHost}:${env.PORT}`);
  say(
    `auth: ${mode === "off" ? "off (local single-user mode)" : "on"} · workers: ${env.SCALEBOARD_WORKERS} · Ctrl-C to stop`,
  );
}

/**
 * Ctrl-C in a terminal signals the whole foreground process group. Were the web server, the workers
 * and the embedded PostgreSQL in it, PostgreSQL would stop at once and the others would lose their
 * connections mid-shutdown (stack traces of "terminating connection due to administrator command",
 * workers that cannot mark themselves stopped). So `npm start` runs the product in a process group of
 * its own and stays in the foreground only to pass signals on; the product then stops in order:
 * web server and workers first, PostgreSQL last.
 */
const GROUP_LEADER = "--own-process-group";

function runInOwnGroup(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1), GROUP_LEADER], {
    cwd: process.cwd(),
    detached: true,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function start() {
  if (process.platform !== "win32" && !process.argv.includes(GROUP_LEADER)) return runInOwnGroup();
  // The foreground process went away without a signal (kill -9): stop the product in order.
  process.on("disconnect", () => void shutdownOnError?.(1, "its terminal process is gone"));
  return void main().catch(async (error: unknown) => {
    if (
      error instanceof EnvError ||
      error instanceof StartError ||
      error instanceof EmbeddedPostgresError ||
      error instanceof MigrationError
    ) {
      console.error(`[scaleboard] ${error.message}`);
    } else {
      console.error(error);
    }
    if (shutdownOnError) await shutdownOnError(1, "start-up failed");
    process.exit(1);
  });
}

start();
