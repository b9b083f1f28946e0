import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { AppError } from "../app-error.ts";

const runPageSelect = {
  id: true,
  name: true,
  status: true,
  attempt: true,
  maxAttempts: true,
  step: true,
  progress: true,
  backend: true,
  workerName: true,
  heartbeatAt: true,
  paramCount: true,
  flopsPerStep: true,
  totalFlops: true,
  wallClockSeconds: true,
  config: true,
  summary: true,
  environment: true,
  tags: true,
  notes: true,
  error: true,
  cellHash: true,
  cancelRequestedAt: true,
  queuedAt: true,
  startedAt: true,
  finishedAt: true,
  createdAt: true,
  updatedAt: true,
  experiment: { select: { id: true, name: true, project: { select: { id: true, name: true } } } },
  series: { select: { key: true, pointCount: true, lastStep: true, lastValue: true, minValue: true, maxValue: true }, orderBy: { key: "asc" } },
} satisfies Prisma.RunSelect;

/**
 * Everything the run page shows about one run: identity, status and progress, sizes, the resolved
 * config (its swept values under `params`), the trainer's summary and environment, and each logged
 * key's final, smallest and largest value. The spec is readable by the same viewers, so the config
 * reveals nothing new.
 */
export async function getRun(db: Db, runId: string) {
  const run = await db.run.findUnique({ where: { id: runId }, select: runPageSelect });
  if (!run) throw new AppError("NOT_FOUND", "Run not found");
  const { series, paramCount, ...rest } = run;
  return { ...rest, paramCount: paramCount === null ? null : Number(paramCount), metrics: series };
}
export type RunPage = Awaited<ReturnType<typeof getRun>>;
