import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { CellConfig } from "../spec/spec-schema.ts";
import { publishRunEvent } from "./run-events.ts";

export type ClaimedRun = {
  id: string;
  experimentId: string;
  name: string;
  attempt: number;
  maxAttempts: number;
  config: CellConfig & { params?: Record<string, unknown> };
  backendPreference: string | null;
  /** The spec's `checkpoint:` block; null for runs whose spec predates it. */
  checkpointEvery: { steps?: number; seconds?: number } | null;
  checkpoint: { id: string; step: number; data: Uint8Array | null; path: string | null } | null;
};

export type ClaimOutcome = { kind: "claimed"; run: ClaimedRun } | { kind: "skipped"; reason: string };

/**
 * Takes a queued run for this worker: status running, attempt + 1 (the fencing token every later
 * write checks), with its latest checkpoint to resume from. Finished or canceled runs are skipped,
 * so a retried job is harmless.
 */
export async function claimRun(db: Db, runId: string, workerName: string): Promise<ClaimOutcome> {
  return db.$transaction((tx) => claimRunInTransaction(tx, runId, workerName));
}

/** The same inside the caller's transaction (the worker API takes the queue's job in the same one). */
export async function claimRunInTransaction(tx: Prisma.TransactionClient, runId: string, workerName: string): Promise<ClaimOutcome> {
  const rows = await tx.$queryRaw<{ status: string; attempt: number; maxAttempts: number; cancelRequestedAt: Date | null }[]>`
    SELECT status, attempt, "maxAttempts", "cancelRequestedAt" FROM "Run" WHERE id = ${runId} FOR UPDATE`;
  const row = rows[0];
  if (!row) return { kind: "skipped", reason: "the run no longer exists" };
  if (row.status !== "queued") return { kind: "skipped", reason: `the run is ${row.status}` };
  if (row.cancelRequestedAt) {
    await tx.run.update({ where: { id: runId }, data: { status: "canceled", finishedAt: new Date() }, select: { id: true } });
    return { kind: "skipped", reason: "the run was canceled" };
  }
  const now = new Date();
  const run = await tx.run.update({
    where: { id: runId },
    data: { status: "running", attempt: { increment: 1 }, workerName, heartbeatAt: now, startedAt: now, error: null },
    select: { id: true, experimentId: true, name: true, attempt: true, maxAttempts: true, config: true, experiment: { select: { specVersions: { orderBy: { version: "desc" }, take: 1, select: { resolved: true } } } } },
  });
  const checkpoint = await tx.checkpoint.findFirst({ where: { runId }, orderBy: [{ step: "desc" }, { createdAt: "desc" }], select: { id: true, step: true, data: true, path: true } });
  await publishRunEvent(tx, { runId, experimentId: run.experimentId, status: "running" });
  const resolved = run.experiment.specVersions[0]?.resolved as { resources?: { backend?: string }; checkpoint?: { everySteps?: number; everySeconds?: number } } | undefined;
  return {
    kind: "claimed",
    run: {
      id: run.id,
      experimentId: run.experimentId,
      name: run.name,
      attempt: run.attempt,
      maxAttempts: run.maxAttempts,
      config: run.config as unknown as ClaimedRun["config"],
      backendPreference: resolved?.resources?.backend ?? null,
      checkpointEvery: resolved?.checkpoint ? { steps: resolved.checkpoint.everySteps, seconds: resolved.checkpoint.everySeconds } : null,
      checkpoint: checkpoint ? { id: checkpoint.id, step: checkpoint.step, data: checkpoint.data, path: checkpoint.path } : null,
    },
  };
}
