import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { Advice } from "./advise-budget.ts";
import {
  fitPowerLaw,
  MIN_SIZES,
  predictionInterval,
  predictLoss,
  type Interval,
  type PowerLawBootstrap,
  type PowerLawFit,
  type PowerLawIntervals,
  type PowerLawPoint,
  powerLawIntervals,
} from "./fit-power-law.ts";
import { paretoFrontier, type CostedRun } from "./pareto-frontier.ts";
import { resolveSelectionMetric } from "../project/project-metric.ts";
import { analyseRuns, analysisRunSelect, prepareRun } from "./scaling-analysis.ts";

export const MAX_SCALING_RUNS = 5000;
const BOOTSTRAP_SEED = 0;
const CURVE_POINTS = 48;

export const ZScalingOptions = z.object({
  /** The loss to fit; when absent, the first experiment's metric (its spec's, else its project's, else val/loss). */
  metric: z.string().min(1).max(200).optional(),
  /** final: the series' last value; best: its minimum (the metric is a loss, lower is better). */
  use: z.enum(["final", "best"]).default("final"),
  x: z.enum(["params", "flops", "wallclock"]).default("params"),
  /** A size (in x's units) at which to predict the loss. */
  extrapolateTo: z.number().positive().max(1e30).optional(),
  budget: z.object({ kind: z.enum(["flops", "seconds"]), value: z.number().positive().max(1e40) }).optional(),
  resamples: z.number().int().min(0).max(1000).default(200),
});
export type ScalingOptions = z.infer<typeof ZScalingOptions> & { metric: string };

export type ScalingRun = {
  id: string;
  name: string;
  experimentId: string;
  /** The swept values of the run's cell, e.g. {"model.width": 64, "training.seed": 0}. */
  params: Record<string, unknown>;
  paramCount: number | null;
  totalFlops: number | null;
  wallClockSeconds: number | null;
  x: number;
  loss: number;
  lossSource: "series" | "summary";
};

export type SizeGroup = {
  /** The runs' parameter count (seeds of one size share it); null when runs lack it and x groups them. */
  paramCount: number | null;
  x: number;
  count: number;
  mean: number;
  min: number;
  max: number;
  /** Sample standard deviation across seeds; 0 for a single run. */
  std: number;
  runIds: string[];
};

export type ScalingView = {
  metric: string;
  use: ScalingOptions["use"];
  x: ScalingOptions["x"];
  runs: ScalingRun[];
  skipped: { runId: string; name: string; reason: string }[];
  /** More than MAX_SCALING_RUNS runs matched; the oldest ones were used. */
  truncated: boolean;
  groups: SizeGroup[];
  fit: PowerLawFit;
  /**
   * 95% percentile-bootstrap intervals: over seeds (2 or more per size), else a residual bootstrap
   * (labelled so); null where neither can be estimated, with `intervalReason`. Never zero-width.
   */
  intervals: {
    alpha: Interval;
    A: Interval;
    E: Interval;
    resamples: number;
    fitted: number;
    method: "seed-bootstrap" | "residual-bootstrap";
  } | null;
  intervalReason: string | null;
  /** The fitted curve across the runs' range (and out to extrapolateTo), with its bootstrap band. */
  curve: { x: number; loss: number; low: number | null; high: number | null }[];
  extrapolation: { x: number; loss: number; low: number | null; high: number | null } | null;
  frontier: { flops: CostedRun[]; wallclock: CostedRun[] };
  /** The budget advisor's answer (advise-budget.ts) when a budget was asked; null otherwise. */
  advice?: Advice | null;
  /**
   * Always null: the fixed-length size-for-budget answer it held was replaced by `advice`. Kept
   * because frozen reports' schema (server/domain/panels/scaling.ts) still lists it.
   */
  budget: null;
};

function scalingRunSelect(metric: string) {
  return {
    id: true,
    name: true,
    experimentId: true,
    status: true,
    config: true,
    summary: true,
    paramCount: true,
    totalFlops: true,
    wallClockSeconds: true,
    series: { where: { key: metric }, select: { lastValue: true, minValue: true }, take: 1 },
  } satisfies Prisma.RunSelect;
}

/** When a run has no series for the metric, the trainer's summary may still hold it. */
const SUMMARY_FALLBACK: Record<string, Partial<Record<ScalingOptions["use"], string>>> = {
  "val/loss": { final: "finalValLoss", best: "bestValLoss" },
  "train/loss": { final: "finalTrainLoss" },
};

type LoadedRun = Prisma.RunGetPayload<{ select: ReturnType<typeof scalingRunSelect> }>;

function lossOf(
  run: LoadedRun,
  metric: string,
  use: ScalingOptions["use"],
): { value: number; source: ScalingRun["lossSource"] } | null {
  const series = run.series[0];
  const fromSeries = use === "final" ? series?.lastValue : series?.minValue;
  if (fromSeries != null) return { value: fromSeries, source: "series" };
  const key = SUMMARY_FALLBACK[metric]?.[use];
  const fromSummary = key && isRecord(run.summary) ? run.summary[key] : undefined;
  return typeof fromSummary === "number" ? { value: fromSummary, source: "summary" } : null;
}

const X_LABEL: Record<ScalingOptions["x"], string> = {
  params: "paramCount",
  flops: "totalFlops",
  wallclock: "wallClockSeconds",
};

function xOf(
  run: { paramCount: number | null; totalFlops: number | null; wallClockSeconds: number | null },
  x: ScalingOptions["x"],
): number | null {
  if (x === "params") return run.paramCount;
  if (x === "flops") return run.totalFlops;
  return run.wallClockSeconds;
}

/**
 * The scaling view of succeeded runs (whole experiments, hand-picked runs, or both):
 * each run's metric against its size, seeds grouped by size, the power-law fit with bootstrap
 * intervals, the loss-cost frontiers and, given a budget, the size to train.
 * Seeds of one size are the runs sharing a paramCount; runs without one group by their x value.
 */
export async function scalingView(
  db: Db,
  selection: { experimentIds?: readonly string[]; runIds?: readonly string[] },
  input: z.input<typeof ZScalingOptions> = {},
): Promise<ScalingView> {
  const parsed = ZScalingOptions.parse(input);
  const options: ScalingOptions = {
    ...parsed,
    metric: parsed.metric ?? (await resolveSelectionMetric(db, selection)).name,
  };
  const or: Prisma.RunWhereInput[] = [];
  // Whole experiments bring their succeeded runs; runs picked by id come whatever their status,
  // so that one still queued or failed is reported as skipped rather than silently missing.
  if (selection.experimentIds?.length)
    or.push({ experimentId: { in: [...selection.experimentIds] }, status: "succeeded" });
  if (selection.runIds?.length) or.push({ id: { in: [...selection.runIds] } });
  const loaded =
    or.length === 0
      ? []
      : await db.run.findMany({
          where: { OR: or },
          select: scalingRunSelect(options.metric),
          orderBy: [{ createdAt: "asc" }, { id: "asc" }],
          take: MAX_SCALING_RUNS + 1,
        });
  const truncated = loaded.length > MAX_SCALING_RUNS;

  const runs: ScalingRun[] = [];
  const skipped: ScalingView["skipped"] = [];
  const costed: { runId: string; loss: number; totalFlops: number | null; wallClockSeconds: number | null }[] = [];
  for (const run of loaded.slice(0, MAX_SCALING_RUNS)) {
    const measured = {
      paramCount: run.paramCount === null ? null : Number(run.paramCount),
      totalFlops: run.totalFlops,
      wallClockSeconds: run.wallClockSeconds,
    };
    const loss = lossOf(run, options.metric, options.use);
    const skip = (reason: string) => skipped.push({ runId: run.id, name: run.name, reason });
    if (run.status !== "succeeded") {
      skip(`status is ${run.status}`);
      continue;
    }
    if (!loss) {
      skip(`no ${options.metric} value`);
      continue;
    }
    if (!Number.isFinite(loss.value)) {
      skip(`${options.metric} is not finite (${loss.value})`);
      continue;
    }
    costed.push({
      runId: run.id,
      loss: loss.value,
      totalFlops: measured.totalFlops,
      wallClockSeconds: measured.wallClockSeconds,
    });
    if (loss.value <= 0) {
      skip(`${options.metric} is ${loss.value}: a power law with a floor E >= 0 needs positive losses`);
      continue;
    }
    const x = xOf(measured, options.x);
    if (x === null || !Number.isFinite(x) || x <= 0) {
      skip(x === null ? `no ${X_LABEL[options.x]}` : `${X_LABEL[options.x]} is ${x}, not a positive number`);
      continue;
    }
    const params = isRecord(run.config) && isRecord(run.config.params) ? run.config.params : {};
    runs.push({
      id: run.id,
      name: run.name,
      experimentId: run.experimentId,
      params,
      ...measured,
      x,
      loss: loss.value,
      lossSource: loss.source,
    });
  }

  const groups = groupBySize(runs);
  const pointGroups = groups.map((group) => group.runs.map((run): PowerLawPoint => ({ x: run.x, loss: run.loss })));
  const { fit, bootstrap, intervals } = fitWithIntervals(pointGroups, options.resamples);

  const curve: ScalingView["curve"] = [];
  let extrapolation: ScalingView["extrapolation"] = null;
  if (fit.ok) {
    const xs = runs.map((run) => run.x);
    const from = Math.min(...xs);
    const to = Math.max(...xs, options.extrapolateTo ?? 0);
    for (let index = 0; index < CURVE_POINTS; index++) {
      const x = from * (to / from) ** (index / (CURVE_POINTS - 1));
      curve.push({ x, loss: predictLoss(fit, x), ...band(bootstrap, x) });
    }
    if (options.extrapolateTo !== undefined)
      extrapolation = {
        x: options.extrapolateTo,
        loss: predictLoss(fit, options.extrapolateTo),
        ...band(bootstrap, options.extrapolateTo),
      };
  }

  return {
    metric: options.metric,
    use: options.use,
    x: options.x,
    runs,
    skipped,
    truncated,
    groups: groups.map(({ runs: members, ...group }) => group),
    fit,
    intervals:
      bootstrap && intervals.method
        ? {
            alpha: bootstrap.alpha,
            A: bootstrap.A,
            E: bootstrap.E,
            resamples: bootstrap.resamples,
            fitted: bootstrap.fitted,
            method: intervals.method,
          }
        : null,
    intervalReason: intervals.reason,
    curve,
    extrapolation,
    frontier: {
      flops: paretoFrontier(
        costed.flatMap((run) =>
          run.totalFlops !== null ? [{ runId: run.runId, loss: run.loss, cost: run.totalFlops }] : [],
        ),
      ),
      wallclock: paretoFrontier(
        costed.flatMap((run) =>
          run.wallClockSeconds !== null ? [{ runId: run.runId, loss: run.loss, cost: run.wallClockSeconds }] : [],
        ),
      ),
    },
    advice: options.budget ? await budgetAdvice(db, runs, options) : null,
    budget: null,
  };
}

function fitWithIntervals(
  pointGroups: PowerLawPoint[][],
  resamples: number,
): { fit: PowerLawFit; bootstrap: PowerLawBootstrap | null; intervals: PowerLawIntervals } {
  // Distinct x values are not enough when x is a measured cost: seeds of one size would count as sizes.
  const fit: PowerLawFit =
    pointGroups.length < MIN_SIZES
      ? {
          ok: false,
          reason: `need at least ${MIN_SIZES} sizes to fit E, A and alpha; got ${pointGroups.length}`,
          n: pointGroups.flat().length,
          sizes: pointGroups.length,
        }
      : fitPowerLaw(pointGroups.flat());
  const intervals = powerLawIntervals(pointGroups, fit, { resamples, seed: BOOTSTRAP_SEED });
  return { fit, bootstrap: intervals.bootstrap, intervals };
}

/**
 * The budget question, answered by the advisor from the same runs' sizes, lengths, FLOPs and
 * throughput (their final loss): the joint fit where runs vary N and D, else the IsoFLOP exponent,
 * else the power law at the study's one training length; within 4x of the measured range.
 */
async function budgetAdvice(db: Db, runs: readonly ScalingRun[], options: ScalingOptions): Promise<Advice> {
  const budget = options.budget!;
  const loaded = await db.run.findMany({
    where: { id: { in: runs.map((run) => run.id) } },
    select: analysisRunSelect(options.metric),
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  const prepared = loaded.map((run) => prepareRun(run, options.metric)).filter((run) => typeof run !== "string");
  const notes: string[] = [];
  const { advice } = await analyseRuns(
    prepared,
    budget.kind === "flops" ? { budgetFlops: budget.value } : { budgetSeconds: budget.value },
    notes,
  );
  return advice!;
}

function groupBySize(runs: readonly ScalingRun[]): (SizeGroup & { runs: ScalingRun[] })[] {
  const byKey = new Map<string, ScalingRun[]>();
  for (const run of runs) {
    const key = run.paramCount !== null ? `params:${run.paramCount}` : `x:${run.x}`;
    const members = byKey.get(key);
    if (members) members.push(run);
    else byKey.set(key, [run]);
  }
  return [...byKey.values()]
    .map((members) => {
      const losses = members.map((run) => run.loss);
      const mean = average(losses);
      const variance =
        members.length > 1 ? losses.reduce((sum, loss) => sum + (loss - mean) ** 2, 0) / (members.length - 1) : 0;
      return {
        paramCount: members[0]!.paramCount,
        x: average(members.map((run) => run.x)),
        count: members.length,
        mean,
        min: Math.min(...losses),
        max: Math.max(...losses),
        std: Math.sqrt(variance),
        runIds: members.map((run) => run.id),
        runs: members,
      };
    })
    .sort((a, b) => a.x - b.x);
}

function band(bootstrap: PowerLawBootstrap | null, x: number): { low: number | null; high: number | null } {
  if (!bootstrap) return { low: null, high: null };
  const interval = predictionInterval(bootstrap, x);
  return { low: interval.low, high: interval.high };
}

function average(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
