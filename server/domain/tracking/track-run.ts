import { randomUUID } from "node:crypto";
import type { Db } from "../../db.ts";
import type { Prisma, RunStatus } from "../../generated/prisma/client.ts";
import { revokeRunKeys } from "../api-key/create-run-key.ts";
import { AppError } from "../app-error.ts";
import { dataColumnsFromSummary } from "../run/run-data-columns.ts";
import { publishRunEvent } from "../run/run-events.ts";
import { assertStoredStep } from "../run/run-step.ts";
import { slugify } from "../team/create-team.ts";

/**
 * Runs tracked from outside (PyTorch, JAX, any script through the HTTP API or the SDK): they live in
 * the same tables as built-in runs, so tables, charts and fits treat them alike.
 */

type TrackedRunInput = {
  project: string;
  experiment: string;
  name?: string;
  config: Record<string, unknown>;
  tags: string[];
  paramCount?: number;
  flopsPerStep?: number;
};

export async function createTrackedRun(db: Db, teamId: string, input: TrackedRunInput) {
  try {
    return await createTrackedRunOnce(db, teamId, input);
  } catch (error) {
    // Scripts starting the first runs of a project at the same moment all try to create it (P2002 on
    // the project or experiment): the losers find it there on a second try.
    if ((error as { code?: unknown }).code !== "P2002") throw error;
    return createTrackedRunOnce(db, teamId, input);
  }
}

async function createTrackedRunOnce(db: Db, teamId: string, input: TrackedRunInput) {
  return db.$transaction(async (tx) => {
    const project = await tx.project.upsert({
      where: { teamId_slug: { teamId, slug: slugify(input.project) } },
      create: { teamId, name: input.project, slug: slugify(input.project) },
      update: {},
      select: { id: true },
    });
    const experiment = await tx.experiment.upsert({
      where: { projectId_name: { projectId: project.id, name: input.experiment } },
      create: { projectId: project.id, name: input.experiment },
      update: {},
      select: { id: true },
    });
    const now = new Date();
    const run = await tx.run.create({
      data: {
        experimentId: experiment.id,
        name: input.name ?? `run-${now.toISOString().replace(/[-:T]/g, "").slice(0, 14)}`,
        // Tracked runs are not sweep cells: each one is its own identity.
        cellHash: `tracked-${randomUUID()}`,
        config: { params: input.config, runner: { kind: "tracked" } } as Prisma.InputJsonValue,
        status: "running",
        attempt: 1,
        workerName: "http",
        heartbeatAt: now,
        startedAt: now,
        tags: input.tags,
        backend: "external",
        ...(input.paramCount !== undefined ? { paramCount: BigInt(input.paramCount) } : {}),
        ...(input.flopsPerStep !== undefined ? { flopsPerStep: input.flopsPerStep } : {}),
      },
      select: { id: true, name: true, experimentId: true },
    });
    await publishRunEvent(tx, { runId: run.id, experimentId: run.experimentId, status: "running" });
    return { runId: run.id, name: run.name, experimentId: run.experimentId, projectId: project.id };
  });
}

type TeamRun = {
  id: string;
  status: RunStatus;
  experimentId: string;
  attempt: number;
  cancelRequestedAt: Date | null;
  name: string;
};

/**
 * The run, if it belongs to the team; another team's run is indistinguishable from a missing one.
 * Every logged batch asks, so it is one prepared statement (server/db.ts) rather than a Prisma query
 * planned on each call.
 */
export async function findTeamRun(db: Db, teamId: string, runId: string): Promise<TeamRun> {
  const [run] = await db.$queryRaw<TeamRun[]>`/* prepared: find team run */
    SELECT r.id, r.status::text AS status, r."experimentId", r.attempt, r."cancelRequestedAt", r.name
    FROM "Run" r JOIN "Experiment" e ON e.id = r."experimentId" JOIN "Project" p ON p.id = e."projectId"
    WHERE r.id = ${runId} AND p."teamId" = ${teamId}`;
  if (!run) throw new AppError("NOT_FOUND", `Run ${runId} not found`);
  return run;
}

export async function updateTrackedRun(
  db: Db,
  teamId: string,
  runId: string,
  input: {
    summary?: Record<string, unknown>;
    paramCount?: number;
    flopsPerStep?: number;
    totalFlops?: number;
    tags?: string[];
    notes?: string;
  },
) {
  const run = await findTeamRun(db, teamId, runId);
  const existing = await db.run.findUniqueOrThrow({ where: { id: run.id }, select: { summary: true } });
  await db.run.update({
    where: { id: run.id },
    data: {
      ...(input.summary
        ? {
            summary: {
              ...((existing.summary as Record<string, unknown> | null) ?? {}),
              ...input.summary,
            } as Prisma.InputJsonValue,
          }
        : {}),
      // D and clean time sent in the summary (tokens, samples, trainSeconds...) fill their columns too.
      ...dataColumnsFromSummary(input.summary),
      ...(input.paramCount !== undefined ? { paramCount: BigInt(input.paramCount) } : {}),
      ...(input.flopsPerStep !== undefined ? { flopsPerStep: input.flopsPerStep } : {}),
      ...(input.totalFlops !== undefined ? { totalFlops: input.totalFlops } : {}),
      ...(input.tags ? { tags: input.tags } : {}),
      ...(input.notes !== undefined ? { notes: input.notes } : {}),
    },
    select: { id: true },
  });
  return { runId: run.id };
}

/**
 * A heartbeat from the script: keeps the run alive and tells it whether someone asked to cancel. A run
 * marked crashed after going silent (crash-silent-runs.ts) was presumed dead; its script heartbeating
 * again proves otherwise, so it is running again.
 */
export async function heartbeatTrackedRun(
  db: Db,
  teamId: string,
  runId: string,
  input: { step?: number; progress?: number },
) {
  assertStoredStep(input.step);
  const run = await findTeamRun(db, teamId, runId);
  if (run.status !== "running" && run.status !== "crashed")
    throw new AppError("CONFLICT", `Run ${runId} is ${run.status}, not running`);
  await db.$transaction(async (tx) => {
    const updated = await tx.run.updateMany({
      where: { id: run.id, status: { in: ["running", "crashed"] } },
      data: {
        heartbeatAt: new Date(),
        ...(input.step !== undefined ? { step: input.step } : {}),
        ...(input.progress !== undefined ? { progress: input.progress } : {}),
        ...(run.status === "crashed" ? { status: "running", finishedAt: null, error: null } : {}),
      },
    });
    if (run.status === "crashed" && updated.count)
      await publishRunEvent(tx, { runId: run.id, experimentId: run.experimentId, status: "running" });
  });
  return { runId: run.id, cancelRequested: Boolean(run.cancelRequestedAt) };
}

export async function finishTrackedRun(
  db: Db,
  teamId: string,
  runId: string,
  input: { status: "succeeded" | "failed" | "canceled" | "diverged"; error?: string; wallClockSeconds?: number },
) {
  const run = await findTeamRun(db, teamId, runId);
  // A crashed run's script may still finish it: it was only presumed dead.
  if (run.status !== "running" && run.status !== "queued" && run.status !== "crashed")
    throw new AppError("CONFLICT", `Run ${runId} already ended as ${run.status}`);
  await db.$transaction(async (tx) => {
    await tx.run.update({
      where: { id: run.id },
      data: {
        status: input.status,
        error: input.error ?? null,
        finishedAt: new Date(),
        ...(input.wallClockSeconds !== undefined ? { wallClockSeconds: input.wallClockSeconds } : {}),
        ...(input.status === "succeeded" ? { progress: 1 } : {}),
      },
      select: { id: true },
    });
    // A command run's script ending its own run ends its key too.
    await revokeRunKeys(tx, run.id);
    await publishRunEvent(tx, { runId: run.id, experimentId: run.experimentId, status: input.status });
  });
  return { runId: run.id, status: input.status };
}
