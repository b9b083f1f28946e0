import type { CellConfig } from "../server/domain/spec/spec-schema.ts";
import { loadBackend, type BackendPreference, type LoadedBackend } from "./training/backend.ts";
import { decodeCheckpoint, encodeCheckpoint } from "./training/checkpoint-format.ts";
import { trainCell, type MetricPointOut } from "./training/train-cell.ts";

/**
 * The training child process (forked by the worker) so the worker's event loop keeps sending
 * heartbeats and reading cancellations while this one computes. It trains one run at a time and
 * stays for the slot's next run: after each it reports "idle" with its live tensor count, which the
 * worker checks against the count before the first run before it reuses the process.
 */
export type ParentMessage =
  | {
      type: "start";
      attempt: string;
      config: CellConfig;
      backend: BackendPreference;
      resume: Uint8Array | null;
      checkpointEvery: { steps?: number; seconds?: number };
    }
  | { type: "stop"; attempt: string; reason: "cancel" | "shutdown" };

export type ChildMessage =
  | { type: "points"; points: MetricPointOut[] }
  | { type: "progress"; step: number; totalSteps: number | null; fraction: number; elapsedSeconds: number }
  | { type: "checkpoint"; step: number; data: Uint8Array }
  | { type: "backend"; name: string; tfjsVersion: string; tried: { name: string; error: string }[] }
  | { type: "result"; result: Awaited<ReturnType<typeof trainCell>> }
  | { type: "error"; message: string }
  | { type: "idle"; tensors: number; baselineTensors: number };

const send = (message: ChildMessage) =>
  new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });

/** Attempts asked to stop; a stop can arrive before its start (the worker began stopping during the claim). */
const stopped = new Set<string>();
let training = false;
let backend: { preference: BackendPreference; loaded: LoadedBackend } | null = null;
let baselineTensors: number | null = null;

async function loadOnce(preference: BackendPreference): Promise<LoadedBackend> {
  if (backend?.preference !== preference) backend = { preference, loaded: await loadBackend(preference) };
  return backend.loaded;
}

async function train(message: Extract<ParentMessage, { type: "start" }>): Promise<void> {
  let loaded: LoadedBackend;
  try {
    loaded = await loadOnce(message.backend);
  } catch (error) {
    // Leave nothing half set up for a next run: the worker starts a fresh process.
    await send({ type: "error", message: error instanceof Error ? error.message : String(error) });
    process.disconnect?.();
    return;
  }
  baselineTensors ??= loaded.tf.memory().numTensors;
  try {
    await send({ type: "backend", name: loaded.name, tfjsVersion: loaded.tfjsVersion, tried: loaded.tried });
    let pending: MetricPointOut[] = [];
    let lastProgress = 0;
    const result = await trainCell(message.config, {
      loaded,
      hooks: {
        resumeFrom: message.resume ? decodeCheckpoint(message.resume) : null,
        checkpointEvery: message.checkpointEvery,
        shouldStop: () => stopped.has(message.attempt),
        onPoints: (points) => {
          pending.push(...points);
          if (pending.length >= 200) {
            void send({ type: "points", points: pending });
            pending = [];
          }
        },
        onProgress: (progress) => {
          if (performance.now() - lastProgress < 250) return;
          lastProgress = performance.now();
          if (pending.length) {
            void send({ type: "points", points: pending });
            pending = [];
          }
          void send({ type: "progress", ...progress });
        },
        onCheckpoint: async (state) => {
          if (pending.length) {
            await send({ type: "points", points: pending });
            pending = [];
          }
          await send({ type: "checkpoint", step: state.step, data: encodeCheckpoint(state) });
        },
      },
    });
    if (pending.length) await send({ type: "points", points: pending });
    await send({ type: "result", result });
  } catch (error) {
    await send({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
  stopped.clear();
  await send({ type: "idle", tensors: loaded.tf.memory().numTensors, baselineTensors });
}

process.on("message", (message: ParentMessage) => {
  if (message.type === "stop") {
    stopped.add(message.attempt);
    return;
  }
  if (message.type !== "start") return;
  if (training) {
    void send({ type: "error", message: "the training process is already training a run" });
    return;
  }
  training = true;
  void train(message).finally(() => {
    training = false;
  });
});

// Started ahead of its first run (one per slot at worker start): load TensorFlow.js while it waits.
// A failure here is not lost: the run's own load (loadOnce) fails the same way and reports it as the run's error.
void import("@tensorflow/tfjs").catch(() => undefined);

// The worker died: nothing to report to any more.
process.on("disconnect", () => process.exit(0));

// Ctrl-C in a terminal (or a stop sent to the whole process group) reaches this process too; the
// worker relays it as a "stop" message, so it can save a checkpoint before it exits.
process.on("SIGINT", () => undefined);
process.on("SIGTERM", () => undefined);
