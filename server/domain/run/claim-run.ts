import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { revokeRunKeys } from "../api-key/create-run-key.ts";
import { describeIssues, ZRunConfig, ZRunSpecSettings, type RunConfig, type RunSpecSettings } from "./run-config.ts";
import { publishRunEvent } from "./run-events.ts";

export type ClaimedRun = {
  id: string;
  experimentId: string;
  name: string;
  attempt: number;
  maxAttempts: number;
  config: RunConfig;
  backendPreference: string | null;
  /** The `checkpoint:` block of the spec version the run came from; null for runs whose spec predates it. */
  checkpointEvery: { steps?: number; seconds?: number } | null;
  checkpoint: { id: string; step: number; data: Uint8Array | null; path: string | null } | null;
};

export type ClaimOutcome =
  | { kind: "claimed"; run: ClaimedRun }
  | { kind: "skipped"; reason: string; commandRefused?: boolean };

/** Who claims: the worker's name, whether its operator allowed command runs, and for a worker on another host its API key. */
export type Claimant = { workerName: string; allowCommands: boolean; workerKeyId?: string | null };

/**
 * Takes a queued run for this worker: status running, attempt + 1 (the fencing token every later
 * write checks), with its latest checkpoint to resume from. Finished or canceled runs are skipped,
 * so a retried job is harmless; so is a command run for a worker that does not allow commands (the
 * run is left queued, untouched). A run whose stored config, or its spec version's resources and
 * checkpoint settings, no longer parse is failed with the reason instead of being handed to a worker.
 */
export async function claimRun(db: Db, runId: string, claimant: Claimant): Promise<ClaimOutcome> {
  return db.$transaction((tx) => claimRunInTransaction(tx, runId, claimant));
}

/** The same inside the caller's transaction (the worker API takes the queue's job in the same one). */
export async function claimRunInTransaction(
  tx: Prisma.TransactionClient,
  runId: string,
  claimant: Claimant,
): Promise<ClaimOutcome> {
  const rows = await tx.$queryRaw<
    { status: string; attempt: number; maxAttempts: number; cancelRequestedAt: Date | null; runner: string | null }[]
  >`
    SELECT status, attempt, "maxAttempts", "cancelRequestedAt", config->'runner'->>'kind' AS runner FROM "Run" WHERE id = ${runId} FOR UPDATE`;
  const row = rows[0];
  if (!row) return { kind: "skipped", reason: "the run no longer exists" };
  if (row.status !== "queued") return { kind: "skipped", reason: `the run is ${row.status}` };
  if (row.runner === "command" && !claimant.allowCommands)
    return { kind: "skipped", reason: "a command run, and this worker does not allow commands", commandRefused: true };
  if (row.cancelRequestedAt) {
    await tx.run.update({
      where: { id: runId },
      data: { status: "canceled", finishedAt: new Date() },
      select: { id: true },
    });
    return { kind: "skipped", reason: "the run was canceled" };
  }
  const stored = await tx.run.findUniqueOrThrow({
    where: { id: runId },
    select: { config: true, specVersion: { select: { version: true, resolved: true } } },
  });
  const readable = readStoredSettings(stored);
  if (!readable.ok) {
    const error = `cannot start the run: ${readable.reason}`;
    const failed = await tx.run.update({
      where: { id: runId },
      data: { status: "failed", error, finishedAt: new Date() },
      select: { experimentId: true },
    });
    await publishRunEvent(tx, { runId, experimentId: failed.experimentId, status: "failed" });
    return { kind: "skipped", reason: error };
  }
  const { config, spec } = readable;
  const now = new Date();
  const run = await tx.run.update({
    where: { id: runId },
    data: {
      status: "running",
      attempt: { increment: 1 },
      workerName: claimant.workerName,
      workerKeyId: claimant.workerKeyId ?? null,
      heartbeatAt: now,
      startedAt: now,
      error: null,
    },
    select: { id: true, experimentId: true, name: true, attempt: true, maxAttempts: true },
  });
  // Keys of an earlier attempt (a worker presumed dead) stop working now.
  await revokeRunKeys(tx, runId);
  const checkpoint = await tx.checkpoint.findFirst({
    where: { runId },
    orderBy: [{ step: "desc" }, { createdAt: "desc" }],
    select: { id: true, step: true, data: true, path: true },
  });
  await publishRunEvent(tx, { runId, experimentId: run.experimentId, status: "running" });
  return {
    kind: "claimed",
    run: {
      id: run.id,
      experimentId: run.experimentId,
      name: run.name,
      attempt: run.attempt,
      maxAttempts: run.maxAttempts,
      config,
      backendPreference: spec?.resources?.backend ?? null,
      checkpointEvery: spec?.checkpoint
        ? { steps: spec.checkpoint.everySteps, seconds: spec.checkpoint.everySeconds }
        : null,
      checkpoint: checkpoint
        ? { id: checkpoint.id, step: checkpoint.step, data: checkpoint.data, path: checkpoint.path }
        : null,
    },
  };
}

/**
 * The run's config and the settings of the spec version it came from (not the experiment's latest:
 * a later version's backend or checkpoint settings apply to its own runs), each parsed by its schema.
 */
function readStoredSettings(stored: {
  config: unknown;
  specVersion: { version: number; resolved: unknown } | null;
}): { ok: true; config: RunConfig; spec: RunSpecSettings | null } | { ok: false; reason: string } {
  const config = ZRunConfig.safeParse(stored.config);
  if (!config.success)
    return { ok: false, reason: `its stored config does not match the spec schema (${describeIssues(config.error)})` };
  if (!stored.specVersion) return { ok: true, config: config.data, spec: null };
  const spec = ZRunSpecSettings.safeParse(stored.specVersion.resolved);
  if (!spec.success)
    return {
      ok: false,
      reason: `the resources or checkpoint settings of spec version ${stored.specVersion.version} do not match the spec schema (${describeIssues(spec.error)})`,
    };
  return { ok: true, config: config.data, spec: spec.data };
}
