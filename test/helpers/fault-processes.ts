import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { access, chmod, constants, writeFile, rm } from "node:fs/promises";
import path from "node:path";
import {
  embeddedDatabaseUrl,
  findFreePort,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from "../../server/database/embedded-postgres.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

export type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

/** A process started by a fault test, with everything it printed. */
export type LoggedProcess = {
  pid: number;
  child: ChildProcess;
  output: () => string;
  exited: Promise<ChildExit>;
  isRunning: () => boolean;
  /** Resolves when the output contains `text`; rejects if the process exits first. */
  printed: (text: string | RegExp, timeoutMs?: number) => Promise<void>;
  /** Signals the whole process group (the process and its children). */
  signalGroup: (signal: NodeJS.Signals) => void;
};

const started = new Set<LoggedProcess>();
// A test runner that dies must not leave servers behind it.
process.on("exit", () => {
  for (const entry of started) {
    try {
      process.kill(-entry.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

export function startLogged(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): LoggedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`cannot start ${command} ${args.join(" ")}`);
  const pid = child.pid;
  let text = "";
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<ChildExit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const entry: LoggedProcess = {
    pid,
    child,
    output: () => text,
    exited,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    printed: (wanted, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const matches = () => (typeof wanted === "string" ? text.includes(wanted) : wanted.test(text));
        const done = () => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const check = () => {
          if (matches()) {
            done();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${String(wanted)} from pid ${pid}:\n${text.slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
        check();
        void exited.then((exit) => {
          if (matches()) return;
          done();
          reject(
            new Error(
              `pid ${pid} exited (${exit.signal ?? exit.code}) before printing ${String(wanted)}:\n${text.slice(-3000)}`,
            ),
          );
        });
      }),
    signalGroup: (signal) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // already gone
      }
    },
  };
  void exited.then(() => started.delete(entry));
  started.add(entry);
  return entry;
}

/** Kills a process group with SIGKILL and waits for its leader to exit. */
export async function killGroup(entry: LoggedProcess): Promise<void> {
  entry.signalGroup("SIGCONT");
  entry.signalGroup("SIGKILL");
  await entry.exited;
}

/** The /api/v1 handler in a process of its own (test/helpers/api-process-main.ts) on a fixed port. */
export async function startApiProcess(databaseUrl: string, port: number): Promise<LoggedProcess & { url: string }> {
  const api = startLogged(process.execPath, ["--import", "tsx", "test/helpers/api-process-main.ts"], {
    env: { DATABASE_URL: databaseUrl, PORT: String(port) },
  });
  await api.printed("api listening on", 60_000);
  return Object.assign(api, { url: `http://127.0.0.1:${port}/api/v1` });
}

/** An embedded PostgreSQL of a test's own, which the test can stop and start again on the same data and port. */
export type RestartablePostgres = {
  port: number;
  url: string;
  stop: () => Promise<void>;
  start: () => Promise<void>;
};

export async function startRestartablePostgres(dataDir: string): Promise<RestartablePostgres> {
  const port = await findFreePort();
  let current: EmbeddedDatabase | null = await startEmbeddedPostgres({ dataDir, port });
  return {
    port,
    url: embeddedDatabaseUrl(port),
    stop: async () => {
      await current?.stop();
      current = null;
    },
    start: async () => {
      if (current) return;
      current = await startEmbeddedPostgres({ dataDir, port });
    },
  };
}

/**
 * Makes a directory that this process cannot write to: mode 0555, and for root (who ignores modes)
 * the immutable attribute. Returns how to undo it.
 */
export async function makeReadOnlyDirectory(dir: string): Promise<() => Promise<void>> {
  await chmod(dir, 0o555);
  const writable = async () => {
    const probe = path.join(dir, ".probe");
    try {
      await writeFile(probe, "x");
      await rm(probe, { force: true });
      return true;
    } catch {
      return false;
    }
  };
  let immutable = false;
  if (await writable()) {
    immutable = spawnSync("chattr", ["+i", dir]).status === 0;
    if (!immutable || (await writable()))
      throw new Error(`cannot make ${dir} read-only here (running as root without chattr +i)`);
  }
  await access(dir, constants.R_OK);
  return async () => {
    if (immutable) spawnSync("chattr", ["-i", dir]);
    await chmod(dir, 0o755);
  };
}
