import type { Db } from "../../db.ts";
import { assertStoredStep } from "./run-step.ts";

export type HeartbeatResult = { owned: boolean; cancelRequested: boolean };

/**
 * Refreshes a running run's heartbeat and progress, only while this attempt still owns it.
 * `owned: false` means another worker took the run over (this one was presumed dead): stop writing.
 * A step the database cannot store is an AppError naming `step` (a 400), never a database error.
 */
export async function recordRunHeartbeat(
  db: Db,
  runId: string,
  attempt: number,
  progress: { step?: number; progress?: number; wallClockSeconds?: number } = {},
): Promise<HeartbeatResult> {
  assertStoredStep(progress.step);
  const rows = await db.$queryRaw<{ cancelRequestedAt: Date | null }[]>`
    UPDATE "Run" SET "heartbeatAt" = now(), "updatedAt" = now(),
      step = COALESCE(${progress.step ?? null}::int, step),
      progress = COALESCE(${progress.progress ?? null}::float8, progress),
      "wallClockSeconds" = COALESCE(${progress.wallClockSeconds ?? null}::float8, "wallClockSeconds")
    WHERE id = ${runId} AND attempt = ${attempt} AND status = 'running'
    RETURNING "cancelRequestedAt"`;
  const row = rows[0];
  return { owned: Boolean(row), cancelRequested: Boolean(row?.cancelRequestedAt) };
}
