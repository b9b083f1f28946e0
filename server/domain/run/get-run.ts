import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { AppError } from "../app-error.ts";
import { resolveRunMetric } from "../project/project-metric.ts";

/** Keys with their final, smallest and largest values in one run.get: the rest are paged through metrics.keys. */
export const RUN_PAGE_METRICS = 50;
/** Values listed per JSON field (config, summary, environment): a summary may hold thousands. */
export const RUN_PAGE_JSON_VALUES = 500;
/** Listed first whatever the key order, since the run page's summary shows them: the run's metric and train/loss. */
const headlineKeys = (metric: string) => [...new Set([metric, "train/loss"])];

const seriesSelect = {
  key: true,
  pointCount: true,
  lastStep: true,
  lastValue: true,
  minValue: true,
  maxValue: true,
} satisfies Prisma.MetricSeriesSelect;

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
  _count: { select: { series: true } },
} satisfies Prisma.RunSelect;

type Json = Prisma.JsonValue;

/**
 * A JSON value with at most `limit` scalar values (objects and arrays walked in order, the rest
 * left out), and how many it held in all.
 */
export function boundedJson(value: Json, limit: number): { value: Json; values: number } {
  if (value === null) return { value: null, values: 0 };
  let kept = 0;
  let values = 0;
  const walk = (node: Json): Json | undefined => {
    if (node !== null && typeof node === "object") {
      const entries = Array.isArray(node) ? node.map((item, index) => [index, item] as const) : Object.entries(node);
      const out: [string | number, Json][] = [];
      for (const [name, item] of entries) {
        const inner = walk(item ?? null);
        if (inner !== undefined) out.push([name, inner]);
      }
      if (Array.isArray(node)) return out.map(([, item]) => item);
      return Object.fromEntries(out);
    }
    values += 1;
    if (kept >= limit) return undefined;
    kept += 1;
    return node;
  };
  return { value: walk(value) ?? null, values };
}

/**
 * Everything the run page shows about one run: identity, status and progress, sizes, the resolved
 * config (its swept values under `params`), the trainer's summary and environment, and the final,
 * smallest and largest value of its first keys (its metric and train/loss first; the metric is its
 * spec's, else its project's, else val/loss). Every list is
 * bounded: `metricCount` and the `*Values` counts say how much more there is (metrics.keys pages
 * through the keys). The spec is readable by the same viewers, so the config reveals nothing new.
 */
export async function getRun(db: Db, runId: string) {
  const run = await db.run.findUnique({ where: { id: runId }, select: runPageSelect });
  if (!run) throw new AppError("NOT_FOUND", "Run not found");
  const metric = await resolveRunMetric(db, runId);
  const headline = headlineKeys(metric.name);
  const [headlineSeries, first] = await Promise.all([
    db.metricSeries.findMany({ where: { runId, key: { in: headline } }, select: seriesSelect }),
    db.metricSeries.findMany({
      where: { runId, key: { notIn: headline } },
      select: seriesSelect,
      orderBy: { key: "asc" },
      take: RUN_PAGE_METRICS,
    }),
  ]);
  const { _count, paramCount, config, summary, environment, ...rest } = run;
  const bounded = {
    config: boundedJson(config, RUN_PAGE_JSON_VALUES),
    summary: boundedJson(summary, RUN_PAGE_JSON_VALUES),
    environment: boundedJson(environment, RUN_PAGE_JSON_VALUES),
  };
  return {
    ...rest,
    paramCount: paramCount === null ? null : Number(paramCount),
    config: bounded.config.value,
    summary: bounded.summary.value,
    environment: bounded.environment.value,
    /** How many values each JSON field holds; more than RUN_PAGE_JSON_VALUES means some are not listed. */
    jsonValues: {
      config: bounded.config.values,
      summary: bounded.summary.values,
      environment: bounded.environment.values,
      limit: RUN_PAGE_JSON_VALUES,
    },
    /** The metric the page leads with: the spec's, else the project's, else val/loss (`source` says which). */
    metric,
    metrics: [...headline.flatMap((key) => headlineSeries.filter((series) => series.key === key)), ...first].slice(
      0,
      RUN_PAGE_METRICS,
    ),
    /** Every key the run logged; `metrics` lists at most RUN_PAGE_METRICS of them. */
    metricCount: _count.series,
  };
}
export type RunPage = Awaited<ReturnType<typeof getRun>>;
