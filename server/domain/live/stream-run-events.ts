import { z } from "zod";
import type { HubRunEvent, RunEventHub } from "./run-event-hub.ts";

export const ZRunEventsInput = z
  .object({
    experimentIds: z.array(z.string().min(1)).max(50).optional(),
    runIds: z.array(z.string().min(1)).max(500).optional(),
  })
  .refine((input) => (input.experimentIds?.length ?? 0) + (input.runIds?.length ?? 0) > 0, {
    message: "name at least one experiment or run to follow",
  });
export type RunEventsInput = z.infer<typeof ZRunEventsInput>;

/**
 * What a live subscription yields. `ready` comes first, once events are flowing: fetch the snapshot
 * (table, curves) after it and apply the events that follow, and nothing falls between the two.
 * `resync` means events may have been missed (the listener reconnected, or this subscriber fell too
 * far behind): fetch again.
 */
export type LiveRunEvent = { type: "ready" } | { type: "resync" } | ({ type: "run" } & HubRunEvent);

/** Events a slow subscriber may have waiting before it is told to resync instead. */
const MAX_QUEUED = 1000;

export async function* streamRunEvents(
  hub: RunEventHub,
  input: RunEventsInput,
  signal?: AbortSignal,
): AsyncGenerator<LiveRunEvent, void, undefined> {
  const experiments = new Set(input.experimentIds ?? []);
  const runs = new Set(input.runIds ?? []);
  const queue: LiveRunEvent[] = [];
  let wake: (() => void) | null = null;
  const push = (event: LiveRunEvent) => {
    if (queue.length >= MAX_QUEUED) queue.splice(0, queue.length, { type: "resync" });
    else queue.push(event);
    wake?.();
  };
  const unsubscribe = hub.subscribe({
    onEvent: (event) => {
      if (runs.has(event.runId) || experiments.has(event.experimentId)) push({ type: "run", ...event });
    },
    onResync: () => push({ type: "resync" }),
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    await hub.ready(signal);
    if (signal?.aborted) return;
    yield { type: "ready" };
    while (!signal?.aborted) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    unsubscribe();
  }
}
