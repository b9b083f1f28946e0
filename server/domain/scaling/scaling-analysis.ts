import { createHash } from "node:crypto";
import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { type AdvisorFits, type AdvisorRun, adviseBudget, DEFAULT_MAX_EXTRAPOLATION } from "./advise-budget.ts";
import {
  bootstrapJointAsync,
  computeOptimalAllocation,
  fitJointScalingLawAsync,
  type JointBootstrap,
  type JointFit,
  type JointPoint,
  jointIntervals,
} from "./fit-joint-scaling-law.ts";
import { type FlopCurve, fitIsoflopProfiles, type IsoflopRun, trainingCurveEnvelope } from "./fit-isoflop-profiles.ts";
import { fitPowerLaw, MIN_SIZES, type PowerLawPoint, powerLawIntervals } from "./fit-power-law.ts";
import { querySeries } from "../metrics/query-series.ts";
import { resolveExperimentMetric } from "../project/project-metric.ts";
import { paretoFrontier } from "./pareto-frontier.ts";

export const MAX_ANALYSIS_RUNS = 2000;
/** Points read per training curve for the envelope (min-preserving buckets when a curve has more). */
const CURVE_POINTS_PER_RUN = 200;
const JOINT_RESAMPLES = 100;
const POWER_LAW_RESAMPLES = 200;

const finite = z.number().refine(Number.isFinite, "must be finite");
const ZRange2 = z.tuple([finite, finite]);
const ZIntervalMethod = z.enum(["seed-bootstrap", "run-bootstrap", "residual-bootstrap"]).nullable();
const ZExponent = z.object({
  a: finite,
  low: finite.nullable(),
  high: finite.nullable(),
  points: z.number().int(),
  intervalMethod: z.enum(["ols-t"]).nullable(),
  intervalReason: z.string().nullable(),
});

export const ZScalingAdvice = z.object({
  ok: z.boolean(),
  reason: z.string().nullable(),
  params: finite.nullable(),
  sweptValues: z.record(z.string(), finite).nullable(),
  steps: finite.nullable(),
  tokens: finite.nullable(),
  samples: finite.nullable(),
  predictedLoss: z.object({ value: finite, low: finite.nullable(), high: finite.nullable() }).nullable(),
  intervalMethod: ZIntervalMethod,
  intervalReason: z.string().nullable(),
  fit: z.enum(["joint", "isoflop", "envelope", "power-law"]).nullable(),
  range: z.object({
    minParams: finite.nullable(),
    maxParams: finite.nullable(),
    minFlops: finite.nullable(),
    maxFlops: finite.nullable(),
    minSeconds: finite.nullable(),
    maxSeconds: finite.nullable(),
    maxExtrapolation: finite,
  }),
  notes: z.array(z.string()),
});

export const ZScalingAnalysis = z.object({
  experimentId: z.string(),
  metric: z.string(),
  runs: z.object({
    used: z.number().int(),
    excluded: z.array(z.object({ runId: z.string(), name: z.string(), reason: z.string() })),
    truncated: z.boolean(),
  }),
  powerLaw: z
    .object({
      E: finite,
      A: finite,
      alpha: finite,
      r2: finite,
      n: z.number().int(),
      intervals: z.object({ E: ZRange2, A: ZRange2, alpha: ZRange2 }).nullable(),
      intervalMethod: ZIntervalMethod,
      intervalReason: z.string().nullable(),
    })
    .nullable(),
  joint: z
    .object({
      E: finite,
      A: finite,
      B: finite,
      alpha: finite,
      beta: finite,
      n: z.number().int(),
      /** Huber objective at the optimum; comparable only between fits of the same runs. */
      objective: finite,
      starts: z.number().int(),
      dataUnit: z.enum(["tokens", "samples"]),
      intervals: z.object({ E: ZRange2, A: ZRange2, B: ZRange2, alpha: ZRange2, beta: ZRange2 }).nullable(),
      intervalMethod: ZIntervalMethod,
      intervalReason: z.string().nullable(),
    })
    .nullable(),
  computeOptimal: z
    .object({
      a: finite,
      b: finite,
      G: finite,
      /** k in C = k N D: measured on the runs (FLOPs / (N D)) where they record FLOPs, else 6. */
      flopsPerParamToken: finite,
    })
    .nullable(),
  isoflop: z
    .object({
      budgets: z.array(
        z.object({
          flops: finite,
          optimumParams: finite.nullable(),
          optimumLoss: finite.nullable(),
          runs: z.number().int(),
          curvature: finite.nullable(),
          parabola: z.object({ c0: finite, c1: finite, c2: finite }).nullable(),
          minParams: finite,
          maxParams: finite,
          reason: z.string().nullable(),
        }),
      ),
      exponent: ZExponent.nullable(),
    })
    .nullable(),
  envelope: z
    .object({
      exponent: ZExponent.nullable(),
      points: z.array(z.object({ flops: finite, loss: finite, runId: z.string(), params: finite })),
      reason: z.string().nullable(),
    })
    .nullable(),
  frontier: z.array(
    z.object({
      runId: z.string(),
      name: z.string(),
      params: finite.nullable(),
      flops: finite,
      seconds: finite.nullable(),
      loss: finite,
    }),
  ),
  advice: ZScalingAdvice.nullable(),
  notes: z.array(z.string()),
});
export type ScalingAnalysis = z.infer<typeof ZScalingAnalysis>;

export const ZScalingAnalysisOptions = z.object({
  metric: z.string().min(1).max(200).optional(),
  budgetFlops: z.number().positive().max(1e40).optional(),
  budgetSeconds: z.number().positive().max(1e12).optional(),
  maxExtrapolation: z.number().min(1).max(1000).optional(),
});
export type ScalingAnalysisOptions = z.infer<typeof ZScalingAnalysisOptions>;

export function analysisRunSelect(metric: string) {
  return {
    id: true,
    name: true,
    config: true,
    summary: true,
    paramCount: true,
    flopsPerStep: true,
    totalFlops: true,
    step: true,
    tokens: true,
    samples: true,
    trainSeconds: true,
    wallClockSeconds: true,
    samplesPerSecond: true,
    series: { where: { key: metric }, select: { id: true, lastValue: true }, take: 1 },
  } satisfies Prisma.RunSelect;
}
type LoadedRun = Prisma.RunGetPayload<{ select: ReturnType<typeof analysisRunSelect> }>;

/** A run as the analysis uses it; `data` is D (tokens, else samples). */
export type AnalysisRun = AdvisorRun & {
  loss: number;
  budget: number | null;
  seriesId: string | null;
  flopsPerStep: number | null;
  wallClockSeconds: number | null;
};

/**
 * Everything the scaling view and the read API say about an experiment's succeeded runs: the
 * power law in N (when runs share one training length), the joint L(N, D) fit with the
 * compute-optimal allocation, IsoFLOP profiles, the training-curve envelope, the loss-FLOPs
 * frontier and, given a budget, advice that stays within the evidence. The caller checks access.
 */
export async function readScalingAnalysis(
  db: Db,
  experimentId: string,
  input: ScalingAnalysisOptions = {},
): Promise<ScalingAnalysis> {
  const options = ZScalingAnalysisOptions.parse(input);
  const metric = options.metric ?? (await resolveExperimentMetric(db, experimentId)).name;
  const loaded = await db.run.findMany({
    where: { experimentId, status: "succeeded" },
    select: analysisRunSelect(metric),
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    take: MAX_ANALYSIS_RUNS + 1,
  });
  const truncated = loaded.length > MAX_ANALYSIS_RUNS;
  const notes: string[] = [];
  if (truncated) notes.push(`only the first ${MAX_ANALYSIS_RUNS} runs are analysed`);
  const excluded: ScalingAnalysis["runs"]["excluded"] = [];
  const runs: AnalysisRun[] = [];
  for (const run of loaded.slice(0, MAX_ANALYSIS_RUNS)) {
    const prepared = prepareRun(run, metric);
    if (typeof prepared === "string") excluded.push({ runId: run.id, name: run.name, reason: prepared });
    else runs.push(prepared);
  }

  const analysis = await analyseRuns(runs, options, notes);
  const envelope = await envelopeOf(db, runs, metric);
  if (analysis.isoflop?.exponent && envelope.exponent)
    compareExponents(notes, [
      ["IsoFLOP", analysis.isoflop.exponent.a],
      ["envelope", envelope.exponent.a],
      ...(analysis.computeOptimal ? [["joint", analysis.computeOptimal.a] as [string, number]] : []),
    ]);
  else if (analysis.computeOptimal && (analysis.isoflop?.exponent || envelope.exponent))
    compareExponents(notes, [
      ["joint", analysis.computeOptimal.a],
      analysis.isoflop?.exponent ? ["IsoFLOP", analysis.isoflop.exponent.a] : ["envelope", envelope.exponent!.a],
    ]);

  return ZScalingAnalysis.parse({
    experimentId,
    metric,
    runs: { used: runs.length, excluded, truncated },
    ...analysis,
    envelope: envelope.points.length > 0 || envelope.exponent ? envelope : null,
    notes,
  });
}

/** The pure part: fits and advice from prepared runs (the envelope needs the curves and is separate). */
export async function analyseRuns(
  runs: readonly AnalysisRun[],
  options: ScalingAnalysisOptions,
  notes: string[],
): Promise<Omit<ScalingAnalysis, "experimentId" | "metric" | "runs" | "envelope" | "notes">> {
  const withData = runs.filter((run) => run.data !== null);
  const dataUnit = withData.length > 0 && withData.every((run) => run.tokens !== null) ? "tokens" : "samples";
  const flopsPerParamToken = measuredFlopsPerParamToken(withData);

  // Power law in N: only meaningful at one training length.
  const lengths = withData.map((run) => run.data!);
  const oneLength = lengths.length === 0 || Math.max(...lengths) <= Math.min(...lengths) * 1.01;
  let powerLaw: ScalingAnalysis["powerLaw"] = null;
  let powerLawFits: AdvisorFits["powerLaw"] = null;
  if (oneLength) {
    const groups = groupBy(runs, (run) => String(run.params)).map((members) =>
      members.map((run): PowerLawPoint => ({ x: run.params, loss: run.loss })),
    );
    const fit = groups.length < MIN_SIZES ? null : fitPowerLaw(groups.flat());
    if (!fit) notes.push(`the power law in N needs ${MIN_SIZES} sizes; got ${groups.length}`);
    else if (!fit.ok) notes.push(`power law in N: ${fit.reason}`);
    else {
      const intervals = powerLawIntervals(groups, fit, { resamples: POWER_LAW_RESAMPLES, seed: 0 });
      const b = intervals.bootstrap;
      powerLaw = {
        E: fit.E,
        A: fit.A,
        alpha: fit.alpha,
        r2: fit.r2,
        n: fit.n,
        intervals: b ? { E: [b.E.low, b.E.high], A: [b.A.low, b.A.high], alpha: [b.alpha.low, b.alpha.high] } : null,
        intervalMethod: intervals.method,
        intervalReason: intervals.reason,
      };
      powerLawFits = { parameters: fit, bootstrap: b, method: intervals.method, reason: intervals.reason };
      notes.push(...fit.warnings.map((warning) => `power law in N: ${warning}`));
    }
  } else notes.push("runs trained for different lengths: the power law in N alone would mix them; see the joint fit");

  // Joint fit.
  let joint: ScalingAnalysis["joint"] = null;
  let computeOptimal: ScalingAnalysis["computeOptimal"] = null;
  let jointFits: AdvisorFits["joint"] = null;
  const { fit: jointFit, bootstrap } = await jointFitOf(
    withData.map((run) => ({ params: run.params, data: run.data!, loss: run.loss })),
  );
  if (!jointFit.ok) notes.push(`joint fit: ${jointFit.reason}`);
  else {
    const intervals = bootstrap ? jointIntervals(bootstrap) : null;
    joint = {
      E: jointFit.E,
      A: jointFit.A,
      B: jointFit.B,
      alpha: jointFit.alpha,
      beta: jointFit.beta,
      n: jointFit.n,
      objective: jointFit.objective,
      starts: jointFit.starts,
      dataUnit,
      intervals,
      intervalMethod: intervals && bootstrap ? bootstrap.method : null,
      intervalReason: intervals
        ? null
        : bootstrap
          ? "the bootstrap resamples did not vary the fit"
          : "too few bootstrap resamples gave a fit",
    };
    jointFits = { parameters: jointFit, bootstrap: intervals ? bootstrap : null };
    notes.push(...jointFit.warnings.map((warning) => `joint fit: ${warning}`));
    const allocation = computeOptimalAllocation(jointFit);
    if (allocation) computeOptimal = { ...allocation, flopsPerParamToken };
    else notes.push("joint fit: alpha and beta must both be positive for a compute-optimal allocation");
  }

  // IsoFLOP profiles.
  const isoflopRuns: IsoflopRun[] = runs.flatMap((run) =>
    run.flops !== null
      ? [{ runId: run.runId, params: run.params, flops: run.flops, budget: run.budget, loss: run.loss }]
      : [],
  );
  const iso = isoflopRuns.length > 0 ? fitIsoflopProfiles(isoflopRuns) : null;
  if (iso) notes.push(...iso.notes);
  const isoflop: ScalingAnalysis["isoflop"] = iso
    ? {
        budgets: iso.profiles.map(
          ({ flops, runs: count, optimumParams, optimumLoss, curvature, parabola, minParams, maxParams, reason }) => ({
            flops,
            runs: count,
            optimumParams,
            optimumLoss,
            curvature,
            parabola,
            minParams,
            maxParams,
            reason,
          }),
        ),
        exponent: iso.exponent ? stripIntercept(iso.exponent) : null,
      }
    : null;

  const frontier = paretoFrontier(
    runs.flatMap((run) => (run.flops !== null ? [{ runId: run.runId, loss: run.loss, cost: run.flops }] : [])),
  ).map((point) => {
    const run = runs.find((candidate) => candidate.runId === point.runId)!;
    return {
      runId: run.runId,
      name: run.name,
      params: run.params,
      flops: point.cost,
      seconds: run.trainSeconds ?? run.wallClockSeconds,
      loss: run.loss,
    };
  });

  let advice: ScalingAnalysis["advice"] = null;
  if (options.budgetFlops !== undefined || options.budgetSeconds !== undefined) {
    advice = adviseBudget({
      runs,
      budget:
        options.budgetFlops !== undefined
          ? { kind: "flops", value: options.budgetFlops }
          : { kind: "seconds", value: options.budgetSeconds! },
      fits: {
        joint: jointFits,
        isoflop: iso?.exponent ? { exponent: iso.exponent, lossLine: iso.lossLine } : null,
        powerLaw: powerLawFits,
        flopsPerParamToken,
      },
      maxExtrapolation: options.maxExtrapolation ?? DEFAULT_MAX_EXTRAPOLATION,
    });
    if (options.budgetFlops !== undefined && options.budgetSeconds !== undefined)
      advice.notes.push("both budgets were given: the FLOP budget was answered");
  }
  return { powerLaw, joint, computeOptimal, isoflop, frontier, advice };
}

/**
 * The joint fit and its bootstrap take seconds (4,500 starts, then 100 refits) and are
 * deterministic in their points, so the last few are kept in memory: the page and the read API
 * asking again about unchanged runs (another budget, another reload) cost nothing.
 */
const JOINT_CACHE_SIZE = 16;
const jointCache = new Map<string, { fit: JointFit; bootstrap: JointBootstrap | null }>();

async function jointFitOf(points: JointPoint[]): Promise<{ fit: JointFit; bootstrap: JointBootstrap | null }> {
  const key = createHash("sha256")
    .update(JSON.stringify(points.map((point) => [point.params, point.data, point.loss])))
    .digest("hex");
  const cached = jointCache.get(key);
  if (cached) {
    jointCache.delete(key);
    jointCache.set(key, cached);
    return cached;
  }
  const fit = await fitJointScalingLawAsync(points);
  const bootstrap = fit.ok ? await bootstrapJointAsync(points, fit, { resamples: JOINT_RESAMPLES, seed: 0 }) : null;
  const entry = { fit, bootstrap };
  jointCache.set(key, entry);
  if (jointCache.size > JOINT_CACHE_SIZE) jointCache.delete(jointCache.keys().next().value!);
  return entry;
}

function stripIntercept({ intercept: _intercept, ...exponent }: { intercept: number } & z.infer<typeof ZExponent>) {
  return exponent;
}

/** Where two estimates of a (N_opt ∝ C^a) differ by more than 0.05, say so. */
function compareExponents(notes: string[], estimates: [string, number][]): void {
  const values = estimates.map(([, value]) => value);
  if (Math.max(...values) - Math.min(...values) > 0.05)
    notes.push(
      `the estimates of a (N_opt ∝ C^a) disagree: ${estimates.map(([name, value]) => `${value.toFixed(2)} (${name})`).join(" vs ")}`,
    );
}

function measuredFlopsPerParamToken(runs: readonly AnalysisRun[]): number {
  const ratios = runs.flatMap((run) =>
    run.flops !== null && run.data !== null && run.data > 0 ? [run.flops / (run.params * run.data)] : [],
  );
  if (ratios.length === 0) return 6;
  const sorted = ratios.toSorted((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function envelopeOf(
  db: Db,
  runs: readonly AnalysisRun[],
  metric: string,
): Promise<NonNullable<ScalingAnalysis["envelope"]>> {
  const withCurves = runs.filter((run) => run.seriesId !== null && run.flopsPerStep !== null && run.flopsPerStep > 0);
  if (withCurves.length < 2)
    return {
      exponent: null,
      points: [],
      reason: "the envelope needs training curves and FLOPs per step of 2 or more runs",
    };
  const curves: FlopCurve[] = [];
  // querySeries reads up to 200 runs a call and keeps each bucket's minimum, so the envelope's lows survive.
  for (let from = 0; from < withCurves.length; from += 200) {
    const batch = withCurves.slice(from, from + 200);
    const { series } = await querySeries(db, {
      runIds: batch.map((run) => run.runId),
      key: metric,
      points: CURVE_POINTS_PER_RUN,
    });
    const byRun = new Map(series.map((result) => [result.runId, result.points]));
    for (const run of batch)
      curves.push({
        runId: run.runId,
        params: run.params,
        points: (byRun.get(run.runId) ?? []).flatMap((point) =>
          point.x > 0 && typeof point.y === "number" ? [{ flops: point.x * run.flopsPerStep!, loss: point.y }] : [],
        ),
      });
  }
  const envelope = trainingCurveEnvelope(curves);
  return {
    exponent: envelope.exponent ? stripIntercept(envelope.exponent) : null,
    points: envelope.points,
    reason: envelope.reason,
  };
}

/** When a run has no series for the metric, its summary may still hold it. */
const SUMMARY_FALLBACK: Record<string, string> = { "val/loss": "finalValLoss", "train/loss": "finalTrainLoss" };

export function prepareRun(run: LoadedRun, metric: string): AnalysisRun | string {
  const summary = isRecord(run.summary) ? run.summary : {};
  const series = run.series[0];
  const fallback = summary[SUMMARY_FALLBACK[metric] ?? metric] ?? summary.loss;
  const loss = series?.lastValue ?? (typeof fallback === "number" ? fallback : null);
  if (loss === null) return `${metric} not logged`;
  if (!Number.isFinite(loss) || loss <= 0) return `${metric} is ${loss}: the fits need a positive, finite loss`;
  const params = run.paramCount === null ? numberOr(summary.params) : Number(run.paramCount);
  if (params === null || !(params > 0)) return "no paramCount";
  const tokens = run.tokens ?? numberOr(summary.tokens);
  const samples = run.samples ?? numberOr(summary.samples);
  const data = tokens ?? samples;
  const config = isRecord(run.config) ? run.config : {};
  const swept = isRecord(config.params) ? config.params : {};
  const flops =
    run.totalFlops ??
    numberOr(summary.flops) ??
    (run.flopsPerStep !== null && run.step !== null ? run.flopsPerStep * run.step : null);
  return {
    runId: run.id,
    name: run.name,
    params,
    data: data !== null && data > 0 ? data : null,
    flops: flops !== null && flops > 0 ? flops : null,
    steps: run.step,
    tokens,
    samples,
    trainSeconds: run.trainSeconds ?? numberOr(summary.trainSeconds),
    samplesPerSecond: run.samplesPerSecond ?? numberOr(summary.samplesPerSecond),
    swept,
    loss,
    budget: declaredBudget(config),
    seriesId: series?.id ?? null,
    flopsPerStep: run.flopsPerStep,
    wallClockSeconds: run.wallClockSeconds,
  };
}

/**
 * The IsoFLOP budget a spec planned the run for, where the spec declared one: the sweep records it
 * at training.isoflopBudget (server/domain/spec/isoflop-sweep.ts), in the cell's params and config.
 */
function declaredBudget(config: Record<string, unknown>): number | null {
  const params = isRecord(config.params) ? config.params : {};
  const training = isRecord(config.training) ? config.training : {};
  return numberOr(params["training.isoflopBudget"]) ?? numberOr(training.isoflopBudget);
}

function numberOr(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const members = groups.get(key(item));
    if (members) members.push(item);
    else groups.set(key(item), [item]);
  }
  return [...groups.values()];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
