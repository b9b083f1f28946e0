/**
 * Entry of a spec-checking worker thread (server/domain/spec/spec-pool.ts). Plain JavaScript, not
 * bundled: it registers tsx and imports the TypeScript domain modules from the repository root,
 * so the same code runs under `next start` (a Turbopack build), tsx and vitest.
 */
import { readlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

// A spec being checked yields the CPU to the web server's own thread and the database: on Linux
// this thread (not the process) runs at a lower priority. Elsewhere it runs at the usual one.
// Its kernel thread id also lets the pool limit the processor time this thread uses (spec-pool.ts).
let tid = null;
try {
  const threadId = Number(path.basename(readlinkSync("/proc/thread-self")));
  if (Number.isInteger(threadId)) {
    tid = threadId;
    os.setPriority(threadId, 10);
  }
} catch {
  // no /proc/thread-self (not Linux) or no right to change it: the usual priority
}

register();
const { runSpecThreadTask } = await import(
  pathToFileURL(path.join(workerData.root, "server/domain/spec/spec-thread-tasks.ts")).href
);

parentPort.on("message", ({ id, task }) => {
  try {
    parentPort.postMessage({ id, result: runSpecThreadTask(task) });
  } catch (error) {
    parentPort.postMessage({ id, failure: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
parentPort.postMessage({ ready: true, tid });
