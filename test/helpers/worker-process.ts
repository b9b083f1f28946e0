import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { Db } from "../../server/db.ts";
import type { RunQueue } from "../../server/queue/boss.ts";
import { startV1Server } from "./v1-server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

export type WorkerExit = { code: number | null; signal: NodeJS.Signals | null };

/** A `worker/main.ts` process started by a test or a bench, with everything it printed. */
export type WorkerProcess = {
  name: string;
  pid: number;
  child: ChildProcess;
  output: () => string;
  /** Resolves when it printed "ready"; rejects if it exits first. */
  ready: Promise<void>;
  exited: Promise<WorkerExit>;
  isRunning: () => boolean;
  /** Signals the worker alone, as a crash (SIGKILL) or an operator (SIGTERM) would. */
  signal: (signal: NodeJS.Signals) => void;
  /** Kills the worker and every process it started (its process group), and waits for the worker to exit. */
  killAll: () => Promise<void>;
  /** Whether any process of its group (the worker or a training child) is still alive. */
  groupAlive: () => boolean;
};

const started = new Set<WorkerProcess>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

// A test runner that dies must not leave workers training behind it.
process.on("exit", () => {
  for (const worker of started) killGroup(worker.pid, "SIGKILL");
});

/**
 * Starts a worker on its own process group so that it and its training children can be killed together:
 * on the database (a DATABASE_URL), or with `{ server, apiKey }` as on another host, with no DATABASE_URL at all.
 * `allowCommands` starts it with --allow-commands: without it the worker never takes command runs.
 */
export function startWorker(
  target: string | { server: string; apiKey: string },
  options: { name: string; slots: number; env?: Record<string, string>; allowCommands?: boolean; args?: string[] },
): WorkerProcess {
  const { DATABASE_URL: _ignored, SCALEBOARD_ALLOW_COMMANDS: _notInherited, ...inherited } = process.env;
  const remote = typeof target === "string" ? null : target;
  const args = [
    "--slots",
    String(options.slots),
    "--name",
    options.name,
    ...(remote ? ["--server", remote.server] : []),
    ...(options.allowCommands ? ["--allow-commands"] : []),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, ["--import", "tsx", "worker/main.ts", ...args], {
    cwd: ROOT,
    env: {
      ...inherited,
      ...(remote ? { SCALEBOARD_API_KEY: remote.apiKey } : { DATABASE_URL: target as string }),
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`cannot start worker ${options.name}`);
  const pid = child.pid;
  let text = "";
  const exited = new Promise<WorkerExit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes(`worker ${options.name} ready`)) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (text += chunk.toString()));
    void exited.then((exit) =>
      reject(new Error(`worker ${options.name} exited before it was ready (${exit.signal ?? exit.code}):\n${text}`)),
    );
  });
  ready.catch(() => undefined);
  const worker: WorkerProcess = {
    name: options.name,
    pid,
    child,
    output: () => text,
    ready,
    exited,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    signal: (signal) => {
      if (worker.isRunning()) child.kill(signal);
    },
    killAll: async () => {
      killGroup(pid, "SIGKILL");
      await exited;
      started.delete(worker);
    },
    groupAlive: () => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    },
  };
  started.add(worker);
  return worker;
}

/** The runs a worker's log says it claimed: `worker NAME: run ID (cell) attempt N[ from step S]`. */
export function claimsIn(
  output: string,
): { worker: string; runId: string; attempt: number; fromStep: number | null }[] {
  return [...output.matchAll(/^worker (\S+): run (\S+) \(.*\) attempt (\d+)(?: from step (\d+))?$/gm)].map((match) => ({
    worker: match[1]!,
    runId: match[2]!,
    attempt: Number(match[3]),
    fromStep: match[4] === undefined ? null : Number(match[4]),
  }));
}

/** Polls until `probe` returns something other than null, undefined or false. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/**
 * The server side of remote workers: /api/v1 (worker API included) behind a plain node:http server,
 * the same handler the Next.js route calls, with the test's producer queue for requeues.
 */
export async function startWorkerApiServer(
  db: Db,
  queue: RunQueue,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await startV1Server(db, { queue: async () => queue });
  return { url: server.url.replace(/\/api\/v1$/, ""), close: server.close };
}
