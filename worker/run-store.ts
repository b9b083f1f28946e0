import type { HeartbeatResult } from "../server/domain/run/record-run-heartbeat.ts";
import type { ClaimedRun } from "../server/domain/run/claim-run.ts";
import type { RunOutcome } from "../server/domain/run/finish-run.ts";
import type { MetricPointInput } from "../server/domain/metrics/ingest-points.ts";
import type { WorkerIdentity } from "../server/domain/worker/register-worker.ts";
import type { LogStream } from "../server/generated/prisma/enums.ts";

export type { ClaimedRun };

/** One attempt at a run: every write is fenced by it, so a worker presumed dead cannot overwrite its successor. */
export type AttemptRef = { id: string; attempt: number };
export type RunProgress = { step?: number; progress?: number; wallClockSeconds?: number };

/**
 * Everything a worker reads and writes about its runs, so that the same run logic works against
 * the database directly (DATABASE_URL) or through a server's worker API (--server and a worker key).
 * Writes for an attempt resolve to false once the attempt no longer owns the run.
 */
export type RunStore = {
  /** Says where runs come from, for log lines and errors. */
  readonly where: string;
  /** The logging API a command run's script gets in SCALEBOARD_API_URL, if any. */
  readonly apiUrl: string | null;
  registerWorker(identity: WorkerIdentity): Promise<void>;
  recordWorkerHeartbeat(name: string): Promise<void>;
  markWorkerStopped(name: string): Promise<void>;
  recordHeartbeat(run: AttemptRef, progress: RunProgress): Promise<HeartbeatResult>;
  writePoints(run: AttemptRef, points: MetricPointInput[]): Promise<boolean>;
  appendLogs(run: AttemptRef, lines: { stream: LogStream; line: string }[]): Promise<void>;
  /** Throws CheckpointError with the reason when the checkpoint cannot be stored. */
  saveCheckpoint(run: AttemptRef, step: number, data: Uint8Array): Promise<boolean>;
  loadCheckpoint(run: ClaimedRun): Promise<Uint8Array | null>;
  finish(run: AttemptRef, outcome: RunOutcome): Promise<boolean>;
  /** Gives the run back to the queue because the worker is stopping: no attempt is used up. */
  release(run: AttemptRef, reason: string): Promise<boolean>;
  /** A short-lived ingest key for a command run's script; revoked when the run ends. */
  createRunKey(run: AttemptRef): Promise<{ key: string; revoke: () => Promise<void> } | null>;
};

/** Where a worker's runs come from: pg-boss on the shared database, or the server's worker API. */
export type RunSource = {
  store: RunStore;
  /**
   * Claims runs and hands each to `handle`, at most `slots` at a time, until stopClaiming. Command
   * runs only when the source was opened with allowCommands: otherwise they are never claimed.
   */
  startClaiming(slots: number, workerName: string, handle: (run: ClaimedRun) => Promise<void>): Promise<void>;
  stopClaiming(): Promise<void>;
  /** Every few seconds: the worker's own heartbeat, and whatever upkeep the source does. */
  upkeep(workerName: string): Promise<void>;
  close(): Promise<void>;
};
