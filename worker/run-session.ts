import type { MetricPointInput } from "../server/domain/metrics/ingest-points.ts";
import type { RunOutcome } from "../server/domain/run/finish-run.ts";
import type { LogStream } from "../server/generated/prisma/enums.ts";
import type { ClaimedRun, RunStore } from "./run-store.ts";

export const HEARTBEAT_SECONDS = 10;
const POLL_MS = 1_000;
const FLUSH_MS = 500;
const MAX_BUFFERED_POINTS = 20_000;

/**
 * The worker's side of one attempt at a run: buffers points and writes them in batches (a slow
 * database slows logging, never training), keeps the heartbeat, watches for cancellation and for
 * losing the run to another worker, and records how the attempt ended.
 */
export class RunSession {
  private buffer: MetricPointInput[] = [];
  private logs: { stream: LogStream; line: string }[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private lastHeartbeat = 0;
  private progress: { step?: number; progress?: number; wallClockSeconds?: number } = {};
  thinnedPoints = 0;
  owned = true;
  cancelRequested = false;

  constructor(
    private readonly store: RunStore,
    readonly run: ClaimedRun,
    private readonly onError: (error: unknown) => void,
  ) {}

  private events: { onCancel: () => void; onFenced: () => void } = { onCancel: () => undefined, onFenced: () => undefined };

  /** What to do when the run is canceled, or taken over by another worker. */
  setHandlers(events: { onCancel: () => void; onFenced: () => void }): void {
    this.events = events;
  }

  start(): void {
    this.timers.push(setInterval(() => void this.poll(), POLL_MS));
    this.timers.push(setInterval(() => void this.flush(), FLUSH_MS));
  }

  setProgress(progress: { step?: number; progress?: number; wallClockSeconds?: number }): void {
    this.progress = { ...this.progress, ...progress };
  }

  addPoints(points: MetricPointInput[]): void {
    this.buffer.push(...points);
    if (this.buffer.length > MAX_BUFFERED_POINTS) this.thin();
  }

  log(stream: LogStream, line: string): void {
    this.logs.push({ stream, line });
  }

  /** Drops every other of the oldest unflushed train/loss points until the buffer fits; evaluation points are never dropped. */
  private thin(): void {
    let excess = this.buffer.length - MAX_BUFFERED_POINTS;
    let keepNext = false;
    this.buffer = this.buffer.filter((point) => {
      if (excess <= 0 || point.key !== "train/loss") return true;
      keepNext = !keepNext;
      if (keepNext) return true;
      excess -= 1;
      this.thinnedPoints += 1;
      return false;
    });
  }

  private async poll(): Promise<void> {
    try {
      const heartbeat = await this.store.recordHeartbeat(this.run, this.progress);
      this.lastHeartbeat = Date.now();
      if (!heartbeat.owned && this.owned) {
        this.owned = false;
        this.events.onFenced();
      } else if (heartbeat.cancelRequested && !this.cancelRequested) {
        this.cancelRequested = true;
        this.events.onCancel();
      }
    } catch (error) {
      this.onError(error);
    }
  }

  /** Writes the buffered points and log lines; resolves to whether everything buffered so far is now stored. */
  flush(): Promise<boolean> {
    const flushed = this.flushing.then(async () => {
      if (!this.owned) {
        this.buffer = [];
        return false;
      }
      const points = this.buffer;
      const logs = this.logs;
      this.buffer = [];
      this.logs = [];
      try {
        if (points.length && !(await this.store.writePoints(this.run, points)) && this.owned) {
          this.owned = false;
          this.events.onFenced();
        }
        if (logs.length) await this.store.appendLogs(this.run, logs);
        return this.owned;
      } catch (error) {
        // Keep them for the next try; the database may be restarting.
        this.buffer = [...points, ...this.buffer];
        this.logs = [...logs, ...this.logs];
        this.onError(error);
        return false;
      }
    });
    this.flushing = flushed.then(() => undefined);
    return flushed;
  }

  private stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  async finish(outcome: RunOutcome): Promise<boolean> {
    await this.flush();
    this.stop();
    if (!this.owned) return false;
    const summary = this.thinnedPoints ? { ...outcome.summary, thinnedTrainLossPoints: this.thinnedPoints } : outcome.summary;
    return this.store.finish(this.run, { ...outcome, ...(summary ? { summary } : {}) });
  }

  /** Gives the run back to the queue (worker shutdown), to resume from its last checkpoint anywhere; no attempt is used up. */
  async release(reason: string): Promise<boolean> {
    await this.flush();
    this.stop();
    if (!this.owned) return false;
    return this.store.release(this.run, reason);
  }

  secondsSinceHeartbeat(): number {
    return (Date.now() - this.lastHeartbeat) / 1000;
  }
}
