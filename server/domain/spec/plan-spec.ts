import type { DbClient } from "../../db.ts";
import type { RunStatus } from "../../generated/prisma/enums.ts";
import { sizeOfCell } from "../model-size/count-flops.ts";
import { slugify } from "../team/create-team.ts";
import { countWorkersAllowingCommands } from "../worker/register-worker.ts";
import { createHash } from "node:crypto";
import type { Cell } from "./expand-sweep.ts";
import type { DroppedCell } from "./isoflop-sweep.ts";
import type { ParsedSpec } from "./parse-spec.ts";

export type PlannedCell = {
  cellHash: string;
  name: string;
  params: Cell["params"];
  paramCount: number | null;
  flopsPerStep: number | null;
  totalFlops: number | null;
  steps: number | null;
  estimatedSeconds: number | null;
  sizeError: string | null;
};
export type PlannedRun = { runId: string; name: string; cellHash: string; status: RunStatus };

export type Plan = {
  project: { name: string; exists: boolean };
  experiment: { name: string; id: string | null; exists: boolean };
  specVersion: { latest: number | null; changed: boolean };
  create: PlannedCell[];
  unchanged: PlannedRun[];
  /** Runs of cells still in the spec that failed, diverged or were canceled: queued again only with retryFailed. */
  retry: PlannedRun[];
  /** Runs whose cell is no longer in the spec: kept, unless prune cancels the queued ones. */
  remove: PlannedRun[];
  /** Cells an IsoFLOP sweep leaves out (too few steps, too many epochs at their budget), each with why. */
  dropped: DroppedCell[];
  totals: {
    cells: number;
    create: number;
    paramCount: number;
    totalFlops: number | null;
    estimatedSeconds: number | null;
  };
  /**
   * For a `runner: command` spec: its runs that are or would be queued, the live workers that accept
   * command runs for this team, and, when there are none, why those runs will wait.
   */
  commands: { runs: number; workersAllowingCommands: number; waiting: string | null } | null;
};

/** What the plan (CLI, UI) says when a command spec's runs have no worker to run them. */
export const COMMANDS_WAIT_MESSAGE = "these runs will wait: no worker allows commands";

const RETRYABLE: RunStatus[] = ["failed", "diverged", "canceled"];

export function sourceHash(source: string): string {
  return createHash("sha256").update(source).digest("hex");
}

function sized(cell: Cell): PlannedCell {
  try {
    const size = sizeOfCell(cell.config);
    return {
      cellHash: cell.cellHash,
      name: cell.name,
      params: cell.params,
      ...size,
      estimatedSeconds: null,
      sizeError: null,
    };
  } catch (error) {
    return {
      cellHash: cell.cellHash,
      name: cell.name,
      params: cell.params,
      paramCount: null,
      flopsPerStep: null,
      totalFlops: null,
      steps: null,
      estimatedSeconds: null,
      sizeError: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Training speed seen on this team's finished runs (median FLOP/s of the last 50), when there are any. */
async function measuredThroughput(db: DbClient, teamId: string): Promise<number | null> {
  const runs = await db.run.findMany({
    where: {
      status: "succeeded",
      totalFlops: { gt: 0 },
      wallClockSeconds: { gt: 0 },
      experiment: { project: { teamId } },
    },
    select: { totalFlops: true, wallClockSeconds: true },
    orderBy: { finishedAt: "desc" },
    take: 50,
  });
  const rates = runs.map((run) => (run.totalFlops ?? 0) / (run.wallClockSeconds ?? 1)).sort((a, b) => a - b);
  return rates.length ? (rates[Math.floor(rates.length / 2)] ?? null) : null;
}

/** Compares a spec's cells with the experiment's runs, without writing anything. */
export async function planSpec(db: DbClient, teamId: string, parsed: ParsedSpec, cells: Cell[]): Promise<Plan> {
  const project = await db.project.findUnique({
    where: { teamId_slug: { teamId, slug: slugify(parsed.spec.project) } },
    select: { id: true },
  });
  const experiment = project
    ? await db.experiment.findUnique({
        where: { projectId_name: { projectId: project.id, name: parsed.spec.experiment } },
        select: { id: true },
      })
    : null;
  const runs = experiment
    ? await db.run.findMany({
        where: { experimentId: experiment.id },
        select: { id: true, name: true, cellHash: true, status: true },
        orderBy: { createdAt: "asc" },
      })
    : [];
  const latest = experiment
    ? await db.specVersion.findFirst({
        where: { experimentId: experiment.id },
        orderBy: { version: "desc" },
        select: { version: true, sourceHash: true },
      })
    : null;

  const byHash = new Map(runs.map((run) => [run.cellHash, run]));
  const inSpec = new Set(cells.map((cell) => cell.cellHash));
  const plan: Plan = {
    project: { name: parsed.spec.project, exists: Boolean(project) },
    experiment: { name: parsed.spec.experiment, id: experiment?.id ?? null, exists: Boolean(experiment) },
    specVersion: { latest: latest?.version ?? null, changed: latest?.sourceHash !== sourceHash(parsed.source) },
    create: [],
    unchanged: [],
    retry: [],
    remove: [],
    dropped: parsed.droppedCells ?? [],
    totals: { cells: cells.length, create: 0, paramCount: 0, totalFlops: 0, estimatedSeconds: null },
    commands: null,
  };
  for (const cell of cells) {
    const run = byHash.get(cell.cellHash);
    if (!run) plan.create.push(sized(cell));
    else if (RETRYABLE.includes(run.status))
      plan.retry.push({ runId: run.id, name: run.name, cellHash: run.cellHash, status: run.status });
    else plan.unchanged.push({ runId: run.id, name: run.name, cellHash: run.cellHash, status: run.status });
  }
  for (const run of runs) {
    if (!inSpec.has(run.cellHash))
      plan.remove.push({ runId: run.id, name: run.name, cellHash: run.cellHash, status: run.status });
  }
  const flopsPerSecond = await measuredThroughput(db, teamId);
  if (flopsPerSecond) {
    for (const cell of plan.create)
      if (cell.totalFlops !== null) cell.estimatedSeconds = cell.totalFlops / flopsPerSecond;
    plan.totals.estimatedSeconds = plan.create.reduce((sum, cell) => sum + (cell.estimatedSeconds ?? 0), 0);
  }
  plan.totals.create = plan.create.length;
  plan.totals.paramCount = plan.create.reduce((sum, cell) => sum + (cell.paramCount ?? 0), 0);
  if (parsed.spec.runner.kind === "command") {
    const runs =
      plan.create.length + plan.retry.length + plan.unchanged.filter((run) => run.status === "queued").length;
    const workersAllowingCommands = await countWorkersAllowingCommands(db, teamId);
    plan.commands = {
      runs,
      workersAllowingCommands,
      waiting: runs > 0 && workersAllowingCommands === 0 ? COMMANDS_WAIT_MESSAGE : null,
    };
  }
  plan.totals.totalFlops = plan.create.every((cell) => cell.totalFlops !== null)
    ? plan.create.reduce((sum, cell) => sum + (cell.totalFlops ?? 0), 0)
    : null;
  return plan;
}
