import os from "node:os";
import { CheckpointError } from "../server/domain/checkpoint/save-checkpoint.ts";
import type { RunStore } from "./run-store.ts";
import type { RunSession } from "./run-session.ts";
import type { ChildMessage, ParentMessage } from "./train-process.ts";
import { acquireTrainingProcess, releaseTrainingProcess } from "./training-pool.ts";
import type { BackendPreference } from "./training/backend.ts";

export type SlotContext = { store: RunStore; gpu: number | null; checkpointEvery: { steps?: number; seconds?: number } };
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
      console.error(`worker: run ${run.id}: cannot record how the attempt ended: ${error instanceof Error ? error.message : String(error)}`);
      settle("fenced");
    };
    const onMessage = (message: ChildMessage) => {
      queue = queue.then(async () => {
        switch (message.type) {
          case "backend":
            backend = message;
            if (message.tried.length) session.log("system", `backend ${message.name} (not available: ${message.tried.map((entry) => `${entry.name}: ${entry.error}`).join("; ")})`);
            break;
          case "points":
            session.addPoints(message.points);
            break;
          case "progress":
            session.setProgress({ step: message.step, progress: message.fraction, wallClockSeconds: message.elapsedSeconds });
            break;
          case "checkpoint":
            try {
              // A resumed attempt logs from the checkpoint's step on, so every point before it must be
              // stored first; otherwise a crash right after the save leaves a gap. Unstored points: skip this one.
              if (!(await session.flush())) break;
              await slot.store.saveCheckpoint(run, message.step, message.data);
            } catch (error) {
              // Storage that refuses checkpoints fails the run; a database that is restarting only loses this one.
              if (!(error instanceof CheckpointError)) break;
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
              environment: { backend: result.summary.backend, tfjsVersion: result.summary.tfjsVersion, host: result.summary.host, node: process.version, platform: `${process.platform}-${process.arch}`, gpu: slot.gpu },
            };
            if (result.status === "succeeded") {
              await session.finish({ status: "succeeded", ...common });
              settle("finished");
            } else if (result.status === "diverged") {
              await session.finish({ status: "diverged", error: result.error, ...common });
              settle("finished");
            } else if (stopReason === "cancel") {
              await session.finish({ status: "canceled", error: "canceled while running; its metrics are kept", ...common });
              settle("finished");
            } else {
              settle((await session.release(`the worker on ${os.hostname()} stopped; resumes from step ${result.step}`)) ? "released" : "fenced");
            }
            break;
          }
          case "error":
            await session.finish({ status: "failed", error: message.message, backend: backend?.name ?? null });
            settle("finished");
            break;
          case "idle":
            // The child is done with this run: the slot's next run can use it if it freed all its tensors.
            current = false;
            if (settled && !checkpointFailure && session.owned && message.tensors <= message.baselineTensors) releaseTrainingProcess(slot.gpu, preference, child);
            else child.kill();
            break;
        }
      }).catch(unrecorded);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      void queue.then(async () => {
        if (settled) return;
        if (!session.owned) return settle("fenced");
        if (stopReason === "shutdown") return settle((await session.release("the worker stopped")) ? "released" : "fenced");
        const reason = checkpointFailure ?? `the training process exited (${signal ?? `code ${code}`})${tail.length ? `: ${tail.slice(-5).join(" | ")}` : ""}`;
        await session.finish({ status: "failed", error: reason, backend: backend?.name ?? null });
        settle("finished");
      }).catch(unrecorded);
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
