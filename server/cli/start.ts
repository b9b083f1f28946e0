import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedDatabase } from "../database/embedded-postgres.ts";
import { MigrationError, migrateDatabase } from "../database/migrate.ts";
import { authMode, dataDir, EnvError, maskDatabaseUrl, parseEnv } from "../env.ts";

/**
 * `npm start`: one command for the whole product. Starts (or reuses) the database, migrates it,
 * builds the web app if no build exists, runs the web server and the worker processes, and on
 * Ctrl-C or SIGTERM stops all of them, the embedded PostgreSQL last.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const require = createRequire(import.meta.url);

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
    throw new StartError(`Cannot reach the database at ${maskDatabaseUrl(url)}: ${error instanceof Error ? error.message : String(error)}`);
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
    if (child.exitCode !== null) throw new StartError(`The web server exited with code ${child.exitCode} before it was ready.`);
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

/** Sessions are signed with this secret; without BETTER_AUTH_SECRET one is made once and kept in the data folder. */
async function loadOrCreateAuthSecret(folder: string): Promise<string> {
  const file = path.join(folder, "auth-secret");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  await mkdir(folder, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  say(`auth: generated a session secret in ${path.relative(process.cwd(), file)} (set BETTER_AUTH_SECRET to choose your own)`);
  return secret;
}

async function main() {
  const { values } = parseArgs({
    options: { dev: { type: "boolean", default: false }, rebuild: { type: "boolean", default: false } },
  });
  const env = parseEnv();
  const mode = authMode(env);
  if (mode === "off" && env.HOST && !["127.0.0.1", "localhost", "::1"].includes(env.HOST)) {
    throw new StartError(`SCALEBOARD_AUTH=off signs everyone in as the local admin, so it listens on 127.0.0.1 only; unset HOST=${env.HOST} or set SCALEBOARD_AUTH=on.`);
  }
  const host = mode === "off" ? "127.0.0.1" : (env.HOST ?? "0.0.0.0");
  await assertPortFree(host, env.PORT);

  const children: ChildProcess[] = [];
  let embedded: EmbeddedDatabase | undefined;
  let stopping = false;

  async function shutdown(code: number, reason: string) {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason})…`);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const force = setTimeout(() => child.kill("SIGKILL"), 8_000);
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
    say(`database: embedded PostgreSQL in ${path.relative(process.cwd(), embedded.clusterDir)} on port ${embedded.port} (${Date.now() - started} ms)`);
  }

  const migration = await migrateDatabase(databaseUrl, { log: say });
  say(`migrations: ${migration.applied.length} applied, ${migration.alreadyApplied.length} already up to date`);

  const authSecret = mode === "on" ? (env.BETTER_AUTH_SECRET ?? (await loadOrCreateAuthSecret(dataDir(env)))) : undefined;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...(authSecret ? { BETTER_AUTH_SECRET: authSecret } : {}),
    DATABASE_URL: databaseUrl,
    SCALEBOARD_AUTH: mode,
    PORT: String(env.PORT),
    HOST: host,
    // Command runs log back through the HTTP API of this server.
    SCALEBOARD_API_URL: process.env.SCALEBOARD_API_URL || `${env.SCALEBOARD_PUBLIC_URL?.replace(/\/$/, "") ?? `http://127.0.0.1:${env.PORT}`}/api/v1`,
    NEXT_TELEMETRY_DISABLED: "1",
  };
  const nextBin = require.resolve("next/dist/bin/next");

  if (!values.dev && (values.rebuild || !existsSync(path.join(ROOT, process.env.SCALEBOARD_NEXT_DIST_DIR || ".next", "BUILD_ID")))) {
    say("no production build found: running `next build` (about a minute)…");
    const code = await run(process.execPath, [nextBin, "build"], { ...childEnv, NODE_ENV: "production" });
    if (code !== 0) throw new StartError(`next build failed with exit code ${code}`);
  }

  const exitWithParent = path.join(ROOT, "scripts/exit-with-parent.cjs");
  const web = spawn(process.execPath, ["--require", exitWithParent, nextBin, values.dev ? "dev" : "start", "-p", String(env.PORT), "-H", host], {
    cwd: ROOT,
    env: { ...childEnv, NODE_ENV: values.dev ? "development" : "production" },
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
  children.push(web);

  for (let index = 0; index < env.SCALEBOARD_WORKERS; index++) {
    const worker = spawn(process.execPath, ["--require", exitWithParent, "--import", "tsx", path.join(ROOT, "worker/main.ts")], {
      cwd: ROOT,
      env: childEnv,
      stdio: ["inherit", "inherit", "inherit", "ipc"],
    });
    children.push(worker);
  }
  for (const child of children) {
    child.on("exit", (code, signal) => {
      if (!stopping) void shutdown(1, `a child process exited unexpectedly (code ${code ?? "none"}, signal ${signal ?? "none"})`);
    });
  }

  const probeHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const started = Date.now();
  await waitForHealth(`http://${probeHost}:${env.PORT}/api/health`, 60_000, web);
  const shownHost = probeHost === "127.0.0.1" ? "localhost" : probeHost;
  say(`ready in ${Date.now() - started} ms: Scaleboard is running at http://${shownHost}:${env.PORT}`);
  say(`auth: ${mode === "off" ? "off (local single-user mode)" : "on"} · workers: ${env.SCALEBOARD_WORKERS} · Ctrl-C to stop`);
}

main().catch(async (error: unknown) => {
  if (error instanceof EnvError || error instanceof StartError || error instanceof EmbeddedPostgresError || error instanceof MigrationError) {
    console.error(`[scaleboard] ${error.message}`);
  } else {
    console.error(error);
  }
  if (shutdownOnError) await shutdownOnError(1, "start-up failed");
  process.exit(1);
});
