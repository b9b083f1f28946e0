import { readFileSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { AppError } from "../app-error.ts";
import { logger } from "../../log.ts";
import type { SpecCheck, SpecCheckResult } from "./check-spec.ts";
import { SpecError } from "./spec-issue.ts";
import type { SpecThreadTask } from "./spec-thread-tasks.ts";
import type { SpecSources } from "./spec-versions.ts";

/**
 * Spec work a stranger can send (parse, validate, expand, evaluate expressions) runs in worker
 * threads, never on the web server's event loop: a spec that takes too long has its thread
 * terminated and replaced, and its caller gets an issue naming the limit, while /api/health and
 * every other request go on being answered.
 *
 * The limit is the thread's own processor time where Linux tells it (/proc/self/task/TID/stat): the
 * thread runs at a lower priority, so on a busy server a small spec can wait for the processor far
 * longer than it computes, and a wall-clock limit refused it. A wall-clock limit WALL_FACTOR times as
 * long still ends a thread that never gets enough processor to reach its own.
 */
export const SPEC_TIME_LIMIT_MS = 2_000;
const WALL_FACTOR = 10;
/** Linux reports a thread's processor time in clock ticks of 1/100 s (USER_HZ) on every architecture. */
const MS_PER_TICK = 10;
const THREADS = 2;
/** Heap of one thread: a sweep that would need more is refused like a slow one. */
const THREAD_HEAP_MB = 512;
/** Specs waiting for a thread; more are refused (429) rather than queued without end. */
const MAX_WAITING = 32;

/**
 * What a new thread runs: an import of the entry (spec-thread.mjs, plain JavaScript that registers
 * tsx and imports the TypeScript modules from `workerData.root`) from the first of `workerData.roots`
 * that has it. Code in a string on purpose: under `next start` this module is bundled, and a path
 * the bundler can see would have it bundle the entry, tsx and esbuild.
 */
const BOOTSTRAP = `
  const { existsSync } = require("node:fs");
  const path = require("node:path");
  const { workerData } = require("node:worker_threads");
  const entryIn = (root) => path.join(root, "server/domain/spec/spec-thread.mjs");
  workerData.root = workerData.roots.find((root) => existsSync(entryIn(root))) ?? workerData.roots[0];
  import(require("node:url").pathToFileURL(entryIn(workerData.root)).href);
`;

/**
 * Where the thread looks for the package's source: three folders above this module when it runs
 * from source (tsx, vitest, the CLI, whatever the working folder), then the working folder (a
 * bundled `next start`, which start.ts runs from the package root).
 */
function packageRoots(): string[] {
  const roots = [process.cwd()];
  if (typeof import.meta.dirname === "string") roots.unshift(path.resolve(import.meta.dirname, "../../.."));
  return roots;
}

/** A task and how to refuse it when it passes a limit (`over` names the limit). */
type Job = {
  task: SpecThreadTask;
  refuse: (over: string) => Error;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
};
type Thread = {
  worker: Worker;
  ready: boolean;
  /** The kernel's id of the thread, when it could read it: its processor time is then the limit. */
  tid: number | null;
  job: Job | null;
  timer: NodeJS.Timeout | null;
};

/** Processor time (user + system) a thread of this process has used, in ms; null where it cannot be read. */
export function threadCpuMs(tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * MS_PER_TICK : null;
  } catch {
    return null;
  }
}

/** A spec over a limit is answered like any bad spec: with an issue, naming the limit. */
const specOverLimit = (fileName: string) => (over: string) =>
  new SpecError(
    [
      {
        path: "",
        message: `checking the spec ${over}: make its sweep smaller or its expressions simpler`,
        line: null,
        column: null,
      },
    ],
    fileName,
  );

export type SpecPoolOptions = { timeLimitMs?: number; threads?: number };

export class SpecPool {
  private readonly threads: Thread[] = [];
  private readonly waiting: Job[] = [];
  private readonly timeLimitMs: number;
  private readonly size: number;

  constructor(options: SpecPoolOptions = {}) {
    this.timeLimitMs = options.timeLimitMs ?? SPEC_TIME_LIMIT_MS;
    this.size = options.threads ?? THREADS;
  }

  /** Parses, validates and expands a spec; see check-spec.ts for the answers. */
  run(check: SpecCheck): Promise<SpecCheckResult> {
    return this.submit({ kind: "check", check }, specOverLimit(check.fileName)) as Promise<SpecCheckResult>;
  }

  /** A unified diff of two versions of a spec. */
  diff(sources: SpecSources): Promise<string> {
    const refuse = (over: string) =>
      new AppError(
        "TOO_LARGE",
        `diffing v${sources.from} and v${sources.to} ${over}: open the two versions side by side instead`,
      );
    return this.submit({ kind: "diff", sources }, refuse) as Promise<string>;
  }

  private submit(task: SpecThreadTask, refuse: Job["refuse"]): Promise<unknown> {
    if (this.waiting.length >= MAX_WAITING) {
      return Promise.reject(
        new AppError(
          "TOO_MANY_REQUESTS",
          `The server is working on ${MAX_WAITING} specs already; try again in a few seconds`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ task, refuse, resolve, reject });
      while (this.threads.length < this.size) this.threads.push(this.spawn());
      this.dispatch();
    });
  }

  private spawn(): Thread {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { roots: packageRoots() },
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    const thread: Thread = { worker, ready: false, tid: null, job: null, timer: null };
    worker.unref();
    worker.on("message", (message: { ready?: true; tid?: number | null; result?: unknown; failure?: string }) => {
      if (message.ready) {
        thread.ready = true;
        thread.tid = typeof message.tid === "number" && threadCpuMs(message.tid) !== null ? message.tid : null;
        return this.dispatch();
      }
      const job = this.finish(thread);
      if (!job) return;
      if (message.failure === undefined) job.resolve(message.result);
      else job.reject(new Error(`A spec thread failed: ${message.failure}`));
      this.dispatch();
    });
    worker.on("error", (error: Error & { code?: string }) => {
      const job = this.finish(thread);
      const outOfMemory = error.code === "ERR_WORKER_OUT_OF_MEMORY";
      if (job)
        job.reject(outOfMemory ? job.refuse(`needed more than ${THREAD_HEAP_MB} MB, the limit for one spec`) : error);
      else if (!outOfMemory) logger().error({ err: error }, "a spec-checking thread failed");
      // A thread that cannot even start (a missing module) would fail the same way again.
      if (!thread.ready) for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    });
    worker.on("exit", () => this.retire(thread));
    return thread;
  }

  /**
   * Hands waiting specs to ready, idle threads; each gets SPEC_TIME_LIMIT_MS of the thread's processor
   * time from then (of wall-clock time where that cannot be read), and WALL_FACTOR times as long in all.
   */
  private dispatch() {
    for (const thread of this.threads) {
      if (!thread.ready || thread.job) continue;
      const job = this.waiting.shift();
      if (!job) return;
      thread.job = job;
      thread.worker.ref();
      this.watch(thread, job);
      thread.worker.postMessage({ id: 0, task: job.task });
    }
  }

  private watch(thread: Thread, job: Job) {
    const seconds = (ms: number) => `${ms / 1000} s`;
    const stop = (over: string) => {
      this.finish(thread)?.reject(job.refuse(over));
      this.retire(thread);
      void thread.worker.terminate();
    };
    const cpuAtStart = thread.tid === null ? null : threadCpuMs(thread.tid);
    if (thread.tid === null || cpuAtStart === null) {
      thread.timer = setTimeout(
        () => stop(`took longer than ${seconds(this.timeLimitMs)}, the limit for one spec`),
        this.timeLimitMs,
      );
      return;
    }
    const tid = thread.tid;
    const wallDeadline = Date.now() + this.timeLimitMs * WALL_FACTOR;
    const every = Math.max(10, Math.min(100, this.timeLimitMs / 4));
    const check = () => {
      if (thread.job !== job) return;
      const used = (threadCpuMs(tid) ?? Number.POSITIVE_INFINITY) - cpuAtStart;
      if (used >= this.timeLimitMs)
        return stop(`took longer than ${seconds(this.timeLimitMs)} of processor time, the limit for one spec`);
      if (Date.now() >= wallDeadline)
        return stop(
          `was still running after ${seconds(this.timeLimitMs * WALL_FACTOR)} on a busy server, the limit for one spec`,
        );
      thread.timer = setTimeout(check, Math.min(every, this.timeLimitMs - used));
    };
    thread.timer = setTimeout(check, Math.min(every, this.timeLimitMs));
  }

  private finish(thread: Thread): Job | null {
    const job = thread.job;
    if (thread.timer) clearTimeout(thread.timer);
    thread.job = null;
    thread.timer = null;
    thread.worker.unref();
    return job;
  }

  /** Stops every thread; specs still waiting or being checked are refused. */
  async close(): Promise<void> {
    for (const job of this.waiting.splice(0)) job.reject(new Error("The spec pool was closed"));
    await Promise.all([...this.threads].map((thread) => thread.worker.terminate()));
  }

  /** Threads started and not retired (for tests: a timed-out thread is replaced, not reused). */
  get threadIds(): number[] {
    return this.threads.map((thread) => thread.worker.threadId);
  }

  /**
   * Takes a thread out of the pool (timed out, out of memory, crashed, exited) and starts another
   * while specs wait. A thread that never became ready is not replaced: its successor would fail alike.
   */
  private retire(thread: Thread) {
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    this.threads.splice(index, 1);
    this.finish(thread)?.reject(new Error("A spec-checking thread exited while checking a spec"));
    if (thread.ready && this.waiting.length && this.threads.length < this.size) {
      try {
        this.threads.push(this.spawn());
      } catch (error) {
        for (const waiting of this.waiting.splice(0)) waiting.reject(error);
      }
    }
    thread.ready = false;
  }
}

let pool: SpecPool | undefined;

/** The web server's pool, started on first use. */
export function specPool(): SpecPool {
  pool ??= new SpecPool();
  return pool;
}

/** Parses, validates and expands a spec in the thread pool; see check-spec.ts for the answers. */
export function checkSpecOffThread(check: SpecCheck): Promise<SpecCheckResult> {
  return specPool().run(check);
}
