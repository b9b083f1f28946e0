import type { MetricPointInput } from "../server/domain/metrics/ingest-points.ts";
import type { RunOutcome } from "../server/domain/run/finish-run.ts";
import type { LogStream } from "../server/generated/prisma/enums.ts";
import { messageOf, runLogger, type Logger } from "../server/log.ts";
import type { ClaimedRun, RunStore } from "./run-store.ts";

export { DEFAULT_STALE_SECONDS } from "../server/domain/run/requeue-run.ts";

/** Each attempt heartbeats this often; the answer also says whether it was canceled or taken over. */
const HEARTBEAT_MS = 1_000;
const FLUSH_MS = 500;
const MAX_BUFFERED_POINTS = 20_000;
/** How long an ending attempt keeps trying to store its last points (a database restart takes seconds). */
const FINAL_FLUSH_MS = 120_000;

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
  private progress: { step?: number; progress?: number; wallClockSeconds?: number } = {};
  thinnedPoints = 0;
  owned = true;
  cancelRequested = false;

  constructor(
    private readonly store: RunStore,
    readonly run: ClaimedRun,
    /** Lines about this attempt; they carry its run id. */
    private readonly logger: Logger = runLogger(run.id).child({ attempt: run.attempt }),
    /** How long finish and release keep retrying the last points before giving up. */
    private readonly finalFlushMs = FINAL_FLUSH_MS,
  ) {}

  private events: { onCancel: () => void; onFenced: () => void } = {
    onCancel: () => undefined,
    onFenced: () => undefined,
  };

  /** What to do when the run is canceled, or taken over by another worker. */
  setHandlers(events: { onCancel: () => void; onFenced: () => void }): void {
    this.events = events;
  }

  start(): void {
    this.timers.push(setInterval(() => void this.poll(), HEARTBEAT_MS));
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
      if (!heartbeat.owned && this.owned) {
        this.owned = false;
        this.events.onFenced();
      } else if (heartbeat.cancelRequested && !this.cancelRequested) {
        this.cancelRequested = true;
        this.events.onCancel();
      }
    } catch (error) {
      // The run goes stale if this lasts: another worker resumes it from its checkpoint.
      this.logger.warn({ err: error }, `heartbeat failed: ${messageOf(error)}`);
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
        this.logger.warn(
          { err: error, points: points.length, logLines: logs.length },
          `writing points and log lines failed (kept for the next try): ${messageOf(error)}`,
        );
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

  /**
   * Flushes until everything buffered is stored, retrying with backoff while the store fails: an
   * attempt's end is recorded only after its points, or a run would finish with a gap where its last
   * points were (the database restarting as training ended). False once the attempt is fenced; throws
   * when the points still cannot be stored after `finalFlushMs`, leaving the run to go stale and
   * resume from its last checkpoint, which every stored point precedes.
   */
  private async flushAll(): Promise<boolean> {
    const deadline = performance.now() + this.finalFlushMs;
    for (let pause = 250; ; pause = Math.min(pause * 2, 5_000)) {
      if (await this.flush()) return true;
      if (!this.owned) return false;
      if (performance.now() + pause > deadline)
        throw new Error(
          `${this.buffer.length} point(s) and ${this.logs.length} log line(s) could not be stored within ${Math.round(this.finalFlushMs / 1000)} s`,
        );
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  async finish(outcome: RunOutcome): Promise<boolean> {
    try {
      if (!(await this.flushAll())) return false;
    } finally {
      this.stop();
    }
    if (!this.owned) return false;
    const summary = this.thinnedPoints
      ? { ...outcome.summary, thinnedTrainLossPoints: this.thinnedPoints }
      : outcome.summary;
    return this.store.finish(this.run, { ...outcome, ...(summary ? { summary } : {}) });
  }

  /** Gives the run back to the queue (worker shutdown), to resume from its last checkpoint anywhere; no attempt is used up. */
  async release(reason: string): Promise<boolean> {
    try {
      if (!(await this.flushAll())) return false;
    } finally {
      this.stop();
    }
    if (!this.owned) return false;
    return this.store.release(this.run, reason);
  }
}
