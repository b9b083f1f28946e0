import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { expect, test } from "@playwright/test";
import pg from "pg";

/**
 * `npm start` as a process: it starts, answers, keeps its data, and stops everything it started
 * (embedded PostgreSQL included) on Ctrl-C or SIGTERM; bad configuration fails fast and says why.
 * Each case runs its own instance on its own port and data folder, apart from the web server
 * the browser tests use.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const STOP_TIMEOUT_MS = 20_000;
const READY_TIMEOUT_MS = 150_000;

type Instance = {
  child: ChildProcess;
  port: number;
  dataDir: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const instances: Instance[] = [];
const dataDirs: string[] = [];

function freshDataDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-lifecycle-"));
  dataDirs.push(dir);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Starts `npm start`'s command in its own process group, as a terminal would run it. */
function startScaleboard(options: { port: number; dataDir: string; env?: Record<string, string> }): Instance {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["DATABASE_URL", "HOST", "SCALEBOARD_AUTH", "SCALEBOARD_WORKERS", "E2E_PORT", "E2E_DATA_DIR"])
    delete env[name];
  Object.assign(env, {
    PORT: String(options.port),
    SCALEBOARD_DATA_DIR: options.dataDir,
    NEXT_TELEMETRY_DISABLED: "1",
    FORCE_COLOR: "0",
    ...options.env,
  });
  const child = spawn(process.execPath, ["--import", "tsx", "server/cli/start.ts"], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const instance = {
    child,
    port: options.port,
    dataDir: options.dataDir,
    output: () => stripVTControlCharacters(output),
    exited,
  };
  instances.push(instance);
  return instance;
}

function isRunning(instance: Instance): boolean {
  return instance.child.exitCode === null && instance.child.signalCode === null;
}

async function waitForReady(instance: Instance): Promise<void> {
  const readyLine = new RegExp(`Scaleboard is running at http://localhost:${instance.port}\\b`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let healthy = false;
  while (Date.now() < deadline) {
    if (!isRunning(instance)) throw new Error(`scaleboard exited before it was ready:\n${instance.output()}`);
    if (!healthy) {
      try {
        const response = await fetch(`http://127.0.0.1:${instance.port}/api/health`, {
          signal: AbortSignal.timeout(3_000),
        });
        healthy = response.status === 200;
      } catch {
        // not listening yet
      }
    }
    if (healthy && readyLine.test(instance.output())) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`scaleboard was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${instance.output()}`);
}

async function waitForExit(instance: Instance, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`scaleboard did not exit within ${timeoutMs / 1000} s:\n${instance.output()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([instance.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // A process that has exited but not yet been reaped (its parent, Scaleboard, exited first and init
  // has not collected it) still answers signal 0: a zombie is not running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Whether `pid` is still running `ms` later (checked every 100 ms): postgres may finish exiting just after its pid file is gone. */
async function stillRunningAfter(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processIsAlive(pid)) {
    if (Date.now() > deadline) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

function postmasterPid(dataDir: string): number {
  const pidFile = path.join(dataDir, "pg", "postmaster.pid");
  expect(existsSync(pidFile), `${pidFile} exists while running`).toBe(true);
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  expect(Number.isInteger(pid) && pid > 0).toBe(true);
  return pid;
}

function embeddedDatabaseUrl(dataDir: string): string {
  const info = JSON.parse(readFileSync(path.join(dataDir, "postgres.json"), "utf8")) as { url: string };
  return info.url;
}

async function withDatabase<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** Stops the instance with `signal` and checks that nothing it started is left behind. */
async function stopAndCheckClean(instance: Instance, signal: "SIGINT" | "SIGTERM", target: "group" | "process") {
  const postgresPid = postmasterPid(instance.dataDir);
  const pid = instance.child.pid;
  if (pid === undefined) throw new Error("no pid");
  // Ctrl-C in a terminal signals the whole foreground process group; `kill <pid>` only the parent.
  process.kill(target === "group" ? -pid : pid, signal);
  const { code, signal: killedBy } = await waitForExit(instance, STOP_TIMEOUT_MS);
  expect({ code, signal: killedBy }, instance.output()).toEqual({ code: 0, signal: null });
  expect(instance.output()).toContain(`[scaleboard] stopping (${signal})`);
  expect(instance.output()).toContain("[scaleboard] stopped");

  expect(existsSync(path.join(instance.dataDir, "pg", "postmaster.pid")), "postmaster.pid removed").toBe(false);
  expect(await stillRunningAfter(postgresPid, 5_000), `postgres pid ${postgresPid} has exited`).toBe(false);
  expect(existsSync(path.join(instance.dataDir, "postgres.json")), "postgres.json removed").toBe(false);
  expect(await portIsFree(instance.port), `port ${instance.port} released by the web server`).toBe(true);
}

test.describe("npm start process lifecycle", () => {
  test.afterEach(async () => {
    // A failed test must not leave a server or a PostgreSQL behind: kill what is still running.
    for (const instance of instances.splice(0)) {
      if (isRunning(instance) && instance.child.pid !== undefined) {
        try {
          process.kill(-instance.child.pid, "SIGKILL");
        } catch {
          // already gone
        }
        await waitForExit(instance, 10_000).catch(() => undefined);
      }
    }
    for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  test("stops cleanly on Ctrl-C and SIGTERM and keeps its data across restarts", async () => {
    test.setTimeout(480_000);
    const dataDir = freshDataDir();
    const port = await freePort();
    const teamId = `e2e-team-${Date.now()}`;

    await test.step("first start creates and migrates the database", async () => {
      const first = startScaleboard({ port, dataDir });
      await waitForReady(first);
      expect(first.output()).toMatch(/migrations: [1-9]\d* applied, 0 already up to date/);

      await withDatabase(embeddedDatabaseUrl(dataDir), (client) =>
        client.query(`INSERT INTO "Team" (id, name, slug, "updatedAt") VALUES ($1, $2, $3, now())`, [
          teamId,
          "Lifecycle team",
          teamId,
        ]),
      );

      await stopAndCheckClean(first, "SIGINT", "group");
    });

    await test.step("second start keeps the row, applies nothing, stops on SIGINT to the parent only", async () => {
      const second = startScaleboard({ port, dataDir });
      await waitForReady(second);
      expect(second.output()).toMatch(/migrations: 0 applied, [1-9]\d* already up to date/);
      const rows = await withDatabase(embeddedDatabaseUrl(dataDir), (client) =>
        client.query(`SELECT name FROM "Team" WHERE id = $1`, [teamId]),
      );
      expect(rows.rows).toEqual([{ name: "Lifecycle team" }]);

      await stopAndCheckClean(second, "SIGINT", "process");
    });

    await test.step("third start stops on SIGTERM", async () => {
      const third = startScaleboard({ port, dataDir });
      await waitForReady(third);
      expect(third.output()).toMatch(/migrations: 0 applied/);
      const rows = await withDatabase(embeddedDatabaseUrl(dataDir), (client) =>
        client.query(`SELECT count(*)::int AS n FROM "Team" WHERE id = $1`, [teamId]),
      );
      expect(rows.rows).toEqual([{ n: 1 }]);

      await stopAndCheckClean(third, "SIGTERM", "process");
    });
  });

  test("a port already in use fails fast with a clear message", async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
    try {
      const instance = startScaleboard({ port, dataDir: freshDataDir() });
      const { code } = await waitForExit(instance, 60_000);
      expect(code, instance.output()).not.toBe(0);
      expect(instance.output()).toContain("already in use");
      expect(instance.output()).toContain(String(port));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test("an invalid PORT prints one line naming it", async () => {
    const instance = startScaleboard({ port: 0, dataDir: freshDataDir(), env: { PORT: "abc" } });
    const { code } = await waitForExit(instance, 60_000);
    expect(code, instance.output()).not.toBe(0);
    const lines = instance
      .output()
      .split("\n")
      .filter((line) => line.trim() !== "");
    expect(lines, instance.output()).toHaveLength(1);
    expect(lines[0]).toContain("PORT");
    expect(lines[0]).toContain("abc");
  });

  test("an unreachable DATABASE_URL is reported with its password masked", async () => {
    const port = await freePort();
    const instance = startScaleboard({
      port,
      dataDir: freshDataDir(),
      env: { DATABASE_URL: "postgresql://u:secret@127.0.0.1:1/x" },
    });
    const { code } = await waitForExit(instance, 60_000);
    expect(code, instance.output()).not.toBe(0);
    expect(instance.output()).toContain("postgresql://u:****@127.0.0.1:1/x");
    expect(instance.output()).not.toContain("secret");
  });
});
