import os from "node:os";
import { CheckpointError } from "../server/domain/checkpoint/save-checkpoint.ts";
import { messageOf, runLogger } from "../server/log.ts";
import type { RunStore } from "./run-store.ts";
import type { RunSession } from "./run-session.ts";
import type { ChildMessage, ParentMessage } from "./train-process.ts";
import { acquireTrainingProcess, releaseTrainingProcess } from "./training-pool.ts";
import type { BackendPreference } from "./training/backend.ts";

export type SlotContext = {
  store: RunStore;
  gpu: number | null;
  checkpointEvery: { steps?: number; seconds?: number };
};
export type AttemptEnd = "finished" | "released" | "fenced";

/**
 * Trains a builtin run in a training child process, resuming from its checkpoint, until it ends, is
 * canceled or the worker stops. The child is reused for the slot's next run when this one ends cleanly;
 * a child that was killed (fenced, checkpoint storage refused) or crashed is replaced by a fresh one.
 */
export async function runBuiltin(session: RunSession, slot: SlotContext, shutdown: AbortSignal): Promise<AttemptEnd> {
  const { run } = session;
  let resume: Uint8Array | null = null;
  if (run.checkpoint) {
    resume = await slot.store.loadCheckpoint(run);
    session.log("system", `resuming from the checkpoint at step ${run.checkpoint.step} (attempt ${run.attempt})`);
  }
  const preference = (run.backendPreference as BackendPreference | null) ?? "auto";
  const child = acquireTrainingProcess(slot.gpu, preference);
  const tail: string[] = [];
  // Messages name the attempt, so a late stop never reaches the child's next run.
  const attempt = `${run.id}/${run.attempt}`;
  let current = true;
  const send = (message: ParentMessage) => {
    if (current) child.send(message);
  };
  let stopReason: "cancel" | "shutdown" | null = null;
  const stop = (reason: "cancel" | "shutdown") => {
    if (stopReason) return;
    stopReason = reason;
    send({ type: "stop", attempt, reason });
  };
  // The worker may have begun stopping while this run was being claimed.
  const onShutdown = () => stop("shutdown");
  if (shutdown.aborted) stop("shutdown");
  else shutdown.addEventListener("abort", onShutdown, { once: true });
  session.start();
  session.setHandlers({ onCancel: () => stop("cancel"), onFenced: () => current && child.kill() });

  let backend: { name: string; tfjsVersion: string } | null = null;
  const progressLog = progressLogger();
  let checkpointFailure: string | null = null;
  const handled = new Promise<AttemptEnd>((resolve) => {
    let queue = Promise.resolve();
    let settled = false;
    const settle = (end: AttemptEnd) => {
      if (!settled) resolve(end);
      settled = true;
      shutdown.removeEventListener("abort", onShutdown);
    };
    // The end could not be recorded (the database is down): the run goes stale and resumes from its checkpoint.
    const unrecorded = (error: unknown) => {
      runLogger(run.id).error(
        { err: error, attempt: run.attempt },
        `cannot record how the attempt ended: ${messageOf(error)}`,
      );
      settle("fenced");
    };
    const onMessage = (message: ChildMessage) => {
      queue = queue
        .then(async () => {
          switch (message.type) {
            case "backend":
              backend = message;
              if (message.tried.length)
                session.log(
                  "system",
                  `backend ${message.name} (not available: ${message.tried.map((entry) => `${entry.name}: ${entry.error}`).join("; ")})`,
                );
              break;
            case "points":
              session.addPoints(message.points);
              progressLog.notePoints(message.points);
              break;
            case "progress":
              session.setProgress({
                step: message.step,
                progress: message.fraction,
                wallClockSeconds: message.elapsedSeconds,
              });
              {
                const line = progressLog.progressLine(message);
                if (line) session.log("system", line);
              }
              break;
            case "checkpoint":
              try {
                // A resumed attempt logs from the checkpoint's step on, so every point before it must be
                // stored first; otherwise a crash right after the save leaves a gap. Unstored points: skip this one.
                if (!(await session.flush())) break;
                await slot.store.saveCheckpoint(run, message.step, message.data);
              } catch (error) {
                // Storage that refuses checkpoints fails the run; a database that is restarting only loses this one.
                if (!(error instanceof CheckpointError)) {
                  runLogger(run.id).warn(
                    { err: error, attempt: run.attempt, step: message.step },
                    `saving the checkpoint failed; training goes on: ${messageOf(error)}`,
                  );
                  break;
                }
                checkpointFailure = error.message;
                child.kill();
              }
              break;
            case "result": {
              const result = message.result;
              const summary = { ...result.summary, attempt: run.attempt, worker: os.hostname() };
              const common = {
                summary,
                backend: result.summary.backend,
                paramCount: result.summary.paramCount,
                flopsPerStep: result.summary.flopsPerStep,
                totalFlops: result.summary.totalFlops,
                wallClockSeconds: result.summary.wallClockSeconds,
                step: result.summary.steps,
                environment: {
                  backend: result.summary.backend,
                  tfjsVersion: result.summary.tfjsVersion,
                  host: result.summary.host,
                  node: process.version,
                  platform: `${process.platform}-${process.arch}`,
                  gpu: slot.gpu,
                  cpu: os.cpus()[0]?.model ?? null,
                  cpuCores: os.availableParallelism(),
                  memoryBytes: os.totalmem(),
                },
              };
              if (result.status === "succeeded") {
                session.log("system", `succeeded after ${result.summary.steps} steps${progressLog.lastValues()}`);
                await session.finish({ status: "succeeded", ...common });
                settle("finished");
              } else if (result.status === "diverged") {
                session.log("system", `diverged: ${result.error}`);
                await session.finish({ status: "diverged", error: result.error, ...common });
                settle("finished");
              } else if (stopReason === "cancel") {
                session.log("system", `canceled at step ${result.step}`);
                await session.finish({
                  status: "canceled",
                  error: "canceled while running; its metrics are kept",
                  ...common,
                });
                settle("finished");
              } else {
                session.log("system", `released: worker stopped, resumes from step ${result.step}`);
                settle(
                  (await session.release(`the worker on ${os.hostname()} stopped; resumes from step ${result.step}`))
                    ? "released"
                    : "fenced",
                );
              }
              break;
            }
            case "error":
              session.log("system", `failed: ${message.message}`);
              await session.finish({ status: "failed", error: message.message, backend: backend?.name ?? null });
              settle("finished");
              break;
            case "idle":
              // The child is done with this run: the slot's next run can use it if it freed all its tensors.
              current = false;
              if (settled && !checkpointFailure && session.owned && message.tensors <= message.baselineTensors)
                releaseTrainingProcess(slot.gpu, preference, child);
              else child.kill();
              break;
          }
        })
        .catch(unrecorded);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      void queue
        .then(async () => {
          if (settled) return;
          if (!session.owned) return settle("fenced");
          if (stopReason === "shutdown") {
            session.log("system", "released: worker stopped, resumes from its last checkpoint");
            return settle((await session.release("the worker stopped")) ? "released" : "fenced");
          }
          const reason =
            checkpointFailure ??
            `the training process exited (${signal ?? `code ${code}`})${tail.length ? `: ${tail.slice(-5).join(" | ")}` : ""}`;
          session.log("system", `failed: ${reason}`);
          await session.finish({ status: "failed", error: reason, backend: backend?.name ?? null });
          settle("finished");
        })
        .catch(unrecorded);
    };
    const onOutput = (stream: "stdout" | "stderr", line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      session.log(stream, line);
    };
    child.attach({ onOutput, onMessage, onExit });
  });
  send({
    type: "start",
    attempt,
    config: run.config,
    backend: preference,
    resume,
    checkpointEvery: slot.checkpointEvery,
  });
  return handled;
}

const PROGRESS_LOG_SECONDS = 5;
const PROGRESS_LOG_FRACTION = 0.1;
const PROGRESS_LOG_KEYS = ["train/loss", "val/loss"];

/**
 * Progress lines for the run log at a bounded rate (at most one every 5 s of training or 10% of the steps,
 * never one a step), each with the latest train and validation loss seen in the points.
 */
function progressLogger() {
  const last = new Map<string, number>();
  let loggedAt: { seconds: number; fraction: number } | null = null;
  const lastValues = () =>
    PROGRESS_LOG_KEYS.filter((key) => last.has(key))
      .map((key) => ` · ${key} ${formatValue(last.get(key) as number)}`)
      .join("");
  return {
    notePoints(points: { key: string; value: number }[]) {
      for (const point of points) if (PROGRESS_LOG_KEYS.includes(point.key)) last.set(point.key, point.value);
    },
    lastValues,
    progressLine(progress: { step: number; totalSteps: number | null; fraction: number; elapsedSeconds: number }) {
      const due =
        loggedAt === null
          ? progress.step > 0
          : progress.elapsedSeconds - loggedAt.seconds >= PROGRESS_LOG_SECONDS ||
            progress.fraction - loggedAt.fraction >= PROGRESS_LOG_FRACTION;
      if (!due) return null;
      loggedAt = { seconds: progress.elapsedSeconds, fraction: progress.fraction };
      const steps = progress.totalSteps ? `${progress.step}/${progress.totalSteps}` : `${progress.step}`;
      const percent = Number.isFinite(progress.fraction) ? ` (${Math.round(progress.fraction * 100)}%)` : "";
      return `step ${steps}${percent} · ${progress.elapsedSeconds.toFixed(1)} s${lastValues()}`;
    },
  };
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? value.toPrecision(3) : String(value);
}
