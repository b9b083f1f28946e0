import type { CellConfig } from "../server/domain/spec/spec-schema.ts";
import type { BackendPreference } from "./training/backend.ts";
import { decodeCheckpoint, encodeCheckpoint } from "./training/checkpoint-format.ts";
import { trainCell, type MetricPointOut } from "./training/train-cell.ts";

/**
 * One training, in its own process (forked by the worker) so the worker's event loop keeps
 * sending heartbeats and reading cancellations while this one computes.
 */
export type ParentMessage =
  | { type: "start"; config: CellConfig; backend: BackendPreference; resume: Uint8Array | null; checkpointEvery: { steps?: number; seconds?: number } }
  | { type: "stop"; reason: "cancel" | "shutdown" };

export type ChildMessage =
  | { type: "points"; points: MetricPointOut[] }
  | { type: "progress"; step: number; totalSteps: number | null; fraction: number; elapsedSeconds: number }
  | { type: "checkpoint"; step: number; data: Uint8Array }
  | { type: "backend"; name: string; tfjsVersion: string; tried: { name: string; error: string }[] }
  | { type: "result"; result: Awaited<ReturnType<typeof trainCell>> }
  | { type: "error"; message: string };

const send = (message: ChildMessage) =>
  new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });

let stopRequested = false;

process.on("message", (message: ParentMessage) => {
  if (message.type === "stop") {
    stopRequested = true;
    return;
  }
  if (message.type !== "start") return;
  void (async () => {
    try {
      const { loadBackend } = await import("./training/backend.ts");
      const loaded = await loadBackend(message.backend);
      await send({ type: "backend", name: loaded.name, tfjsVersion: loaded.tfjsVersion, tried: loaded.tried });
      let pending: MetricPointOut[] = [];
      let lastProgress = 0;
      const result = await trainCell(message.config, {
        loaded,
        hooks: {
          resumeFrom: message.resume ? decodeCheckpoint(message.resume) : null,
          checkpointEvery: message.checkpointEvery,
          shouldStop: () => stopRequested,
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
    process.disconnect?.();
  })();
});

// The worker died: nothing to report to any more.
process.on("disconnect", () => process.exit(0));

// Ctrl-C in a terminal (or a stop sent to the whole process group) reaches this process too; the
// worker relays it as a "stop" message, so it can save a checkpoint before it exits.
process.on("SIGINT", () => undefined);
process.on("SIGTERM", () => undefined);
