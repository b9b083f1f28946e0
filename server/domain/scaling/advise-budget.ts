import {
  computeOptimalAllocation,
  type JointBootstrap,
  type JointParameters,
  optimalAllocation,
  predictJoint,
} from "./fit-joint-scaling-law.ts";
import type { ExponentFit } from "./fit-isoflop-profiles.ts";
import {
  leastSquaresLine,
  percentileInterval,
  predictLoss,
  type PowerLawBootstrap,
  type PowerLawParameters,
} from "./fit-power-law.ts";

/** What the advisor knows of one run. `data` is D: tokens for language models, samples otherwise. */
export type AdvisorRun = {
  runId: string;
  name: string;
  params: number;
  data: number | null;
  flops: number | null;
  steps: number | null;
  tokens: number | null;
  samples: number | null;
  trainSeconds: number | null;
  samplesPerSecond: number | null;
  swept: Record<string, unknown>;
};

export type AdvisorFits = {
  joint: { parameters: JointParameters; bootstrap: JointBootstrap | null } | null;
  isoflop: { exponent: ExponentFit; lossLine: { intercept: number; slope: number } | null } | null;
  /** Loss against N at the one training length every run shared (D fixed). */
  powerLaw: {
    parameters: PowerLawParameters;
    bootstrap: PowerLawBootstrap | null;
    method: "seed-bootstrap" | "residual-bootstrap" | null;
    reason: string | null;
  } | null;
  /** C = k N D; 6 for a transformer, or the ratio measured on the runs. */
  flopsPerParamToken: number;
};

export type Budget = { kind: "flops" | "seconds"; value: number };

export type AdviceRange = {
  minParams: number | null;
  maxParams: number | null;
  minFlops: number | null;
  maxFlops: number | null;
  minSeconds: number | null;
  maxSeconds: number | null;
  maxExtrapolation: number;
};

export type Advice = {
  ok: boolean;
  reason: string | null;
  params: number | null;
  sweptValues: Record<string, number> | null;
  steps: number | null;
  tokens: number | null;
  samples: number | null;
  predictedLoss: { value: number; low: number | null; high: number | null } | null;
  intervalMethod: "seed-bootstrap" | "run-bootstrap" | "residual-bootstrap" | null;
  intervalReason: string | null;
  fit: "joint" | "isoflop" | "envelope" | "power-law" | null;
  range: AdviceRange;
  notes: string[];
};

export const DEFAULT_MAX_EXTRAPOLATION = 4;

/**
 * "Which size, trained how long, for this budget?" answered only within the study's evidence: the
 * budget, the recommended N and its D must lie within `maxExtrapolation` times the measured range (either
 * side). Preference: the joint fit (it trades N against D), then the IsoFLOP exponent, then, for a
 * study that trained every size for one length, the power law in N at that length.
 */
export function adviseBudget(input: {
  runs: readonly AdvisorRun[];
  budget: Budget;
  fits: AdvisorFits;
  maxExtrapolation?: number;
}): Advice {
  const factor = input.maxExtrapolation ?? DEFAULT_MAX_EXTRAPOLATION;
  const { runs, budget } = input;
  const params = positives(runs.map((run) => run.params));
  const flops = positives(runs.map((run) => run.flops));
  const seconds = positives(runs.map((run) => run.trainSeconds));
  const range: AdviceRange = {
    minParams: minOf(params),
    maxParams: maxOf(params),
    minFlops: minOf(flops),
    maxFlops: maxOf(flops),
    minSeconds: minOf(seconds),
    maxSeconds: maxOf(seconds),
    maxExtrapolation: factor,
  };
  const refuse = (reason: string, notes: string[] = []): Advice => ({
    ok: false,
    reason,
    params: null,
    sweptValues: null,
    steps: null,
    tokens: null,
    samples: null,
    predictedLoss: null,
    intervalMethod: null,
    intervalReason: null,
    fit: null,
    range,
    notes,
  });
  if (!(budget.value > 0) || !Number.isFinite(budget.value)) return refuse("the budget must be a positive number");
  if (params.length === 0) return refuse("no run recorded its parameter count");
  const unit = budget.kind === "flops" ? "FLOPs" : "seconds of training";
  const measured = budget.kind === "flops" ? flops : seconds;
  if (measured.length === 0)
    return refuse(
      budget.kind === "flops"
        ? "no run recorded its FLOPs"
        : "no run recorded its training seconds (trainSeconds): time budgets need measured throughput",
    );
  const low = minOf(measured)!;
  const high = maxOf(measured)!;
  if (budget.value > high * factor)
    return refuse(
      `${fmt(budget.value)} ${unit} is ${fmt(budget.value / high)}x the largest run (${fmt(high)}); this study answers up to ${fmt(high * factor)} (${factor}x). Runs of at least ${fmt(budget.value / factor)} ${unit} would answer it`,
    );
  if (budget.value < low / factor)
    return refuse(
      `${fmt(budget.value)} ${unit} is below 1/${factor} of the smallest run (${fmt(low)}); runs of at most ${fmt(budget.value * factor)} ${unit} would answer it`,
    );

  const choice = budget.kind === "flops" ? allocateFlops(budget.value, input) : allocateSeconds(budget.value, input);
  if ("reason" in choice) return refuse(choice.reason, choice.notes ?? []);
  const nLow = range.minParams! / factor;
  const nHigh = range.maxParams! * factor;
  if (choice.params > nHigh * (1 + 1e-9) || choice.params < nLow * (1 - 1e-9))
    return refuse(
      `the ${choice.fit} fit puts the optimum at N ≈ ${fmt(choice.params)}, more than ${factor}x beyond the sizes trained (${fmt(range.minParams!)} to ${fmt(range.maxParams!)}); runs of about ${fmt(choice.params)} parameters${describeSwept(runs, choice.params)} would answer it`,
    );
  // D too: a recommendation that trains far longer (or shorter) than any run did leans on the fit
  // where the study never sampled, whatever N is (a data-hungry law puts D at 20-70x the largest run).
  const measuredData = positives(runs.map((run) => run.data));
  if (choice.data !== null && measuredData.length > 0) {
    const dMin = minOf(measuredData)!;
    const dMax = maxOf(measuredData)!;
    if (choice.data > dMax * factor * (1 + 1e-9) || choice.data < (dMin / factor) * (1 - 1e-9))
      return refuse(
        `the ${choice.fit} fit trains the optimum (N ≈ ${fmt(choice.params)}) on D ≈ ${fmt(choice.data)}, more than ${factor}x beyond the training lengths measured (${fmt(dMin)} to ${fmt(dMax)}); runs of about ${fmt(choice.params)} parameters${describeSwept(runs, choice.params)} trained on about ${fmt(choice.data)} would answer it`,
      );
  }
  const notes = [...choice.notes];
  const sweptValues = sweptValuesFor(runs, choice.params, notes);
  const perStep = median(runs.flatMap((run) => (run.data && run.steps && run.steps > 0 ? [run.data / run.steps] : [])));
  const tokenRuns = runs.filter((run) => run.tokens !== null && run.tokens > 0);
  const dataIsTokens = tokenRuns.length > 0 && tokenRuns.length === runs.filter((run) => run.data !== null).length;
  const samplesPerDatum = median(
    runs.flatMap((run) => (run.samples && run.data && run.data > 0 ? [run.samples / run.data] : [])),
  );
  const interval = choice.interval;
  const valid = interval && interval.high > interval.low && Number.isFinite(interval.low + interval.high);
  return {
    ok: true,
    reason: null,
    params: choice.params,
    sweptValues,
    steps: choice.steps ?? (perStep && choice.data !== null ? Math.max(1, Math.round(choice.data / perStep)) : null),
    tokens: dataIsTokens ? choice.data : null,
    samples:
      choice.data === null || !dataIsTokens ? choice.data : samplesPerDatum ? choice.data * samplesPerDatum : null,
    predictedLoss:
      choice.loss === null
        ? null
        : { value: choice.loss, low: valid ? interval.low : null, high: valid ? interval.high : null },
    intervalMethod: valid ? choice.intervalMethod : null,
    intervalReason: valid ? null : (choice.intervalReason ?? "the resamples did not vary the prediction"),
    fit: choice.fit,
    range,
    notes,
  };
}

type Choice =
  | {
      params: number;
      /** D; null when only the steps are known (a fixed-length study that did not record D). */
      data: number | null;
      /** Set when the fit fixes the steps directly (a fixed-length study). */
      steps?: number | null;
      loss: number | null;
      interval: { low: number; high: number } | null;
      intervalMethod: Advice["intervalMethod"];
      intervalReason: string | null;
      fit: NonNullable<Advice["fit"]>;
      notes: string[];
    }
  | { reason: string; notes?: string[] };

type Input = Parameters<typeof adviseBudget>[0];

function jointPrediction(
  joint: NonNullable<AdvisorFits["joint"]>,
  params: number,
  data: number,
): Pick<Extract<Choice, { params: number }>, "loss" | "interval" | "intervalMethod" | "intervalReason"> {
  const loss = predictJoint(joint.parameters, params, data);
  if (!joint.bootstrap)
    return {
      loss,
      interval: null,
      intervalMethod: null,
      intervalReason: "the joint fit's bootstrap was not estimable",
    };
  return {
    loss,
    interval: percentileInterval(
      joint.bootstrap.samples.map((sample) => predictJoint(sample, params, data)),
      0.95,
    ),
    intervalMethod: joint.bootstrap.method,
    intervalReason: null,
  };
}

function allocateFlops(flops: number, { runs, fits }: Input): Choice {
  const k = fits.flopsPerParamToken;
  if (fits.joint) {
    const allocation = computeOptimalAllocation(fits.joint.parameters);
    if (allocation) {
      const { params, data } = optimalAllocation(allocation, flops, k);
      return {
        params,
        data,
        ...jointPrediction(fits.joint, params, data),
        fit: "joint",
        notes: [`N_opt = G (C/${fmt(k)})^a from the joint fit`],
      };
    }
  }
  if (fits.isoflop) {
    const { exponent, lossLine } = fits.isoflop;
    const params = Math.exp(exponent.intercept) * flops ** exponent.a;
    return {
      params,
      data: flops / (k * params),
      loss: lossLine ? Math.exp(lossLine.intercept + lossLine.slope * Math.log(flops)) : null,
      interval: null,
      intervalMethod: null,
      intervalReason: "the IsoFLOP valleys give one optimum per budget: no interval on the loss",
      fit: "isoflop",
      notes: ["from the IsoFLOP exponent (the joint fit is not available)"],
    };
  }
  if (fits.powerLaw) {
    const length = fixedLength(runs);
    if (length === null) return { reason: UNKNOWN_LENGTH };
    // At one training length a run's FLOPs grow in proportion to N: the measured ratio sizes the budget.
    const flopsPerParam = median(runs.flatMap((run) => (run.flops ? [run.flops / run.params] : [])));
    if (flopsPerParam === null) return { reason: "no run recorded its FLOPs" };
    const params = flops / flopsPerParam;
    const trained = length.steps !== null ? `${fmt(length.steps)} steps` : `${fmt(length.data!)} samples or tokens`;
    return {
      params,
      data: length.data,
      steps: length.steps,
      ...powerLawPrediction(fits.powerLaw, params),
      fit: "power-law",
      notes: [
        `every run trained for the same length (${trained}): this sizes the model for that one length; it does not trade size against training length (vary both, or run IsoFLOP budgets, for that)`,
      ],
    };
  }
  return { reason: "no fit to answer from: the joint fit, IsoFLOP profiles and the power law all need more runs" };
}

function powerLawPrediction(powerLaw: NonNullable<AdvisorFits["powerLaw"]>, params: number) {
  const loss = predictLoss(powerLaw.parameters, params);
  if (!powerLaw.bootstrap)
    return {
      loss,
      interval: null,
      intervalMethod: null,
      intervalReason: powerLaw.reason ?? "no interval",
    } as const;
  return {
    loss,
    interval: percentileInterval(
      powerLaw.bootstrap.samples.map((sample) => predictLoss(sample, params)),
      0.95,
    ),
    intervalMethod: powerLaw.method,
    intervalReason: null,
  };
}

/**
 * Training time t buys D = t * throughput(N) tokens or samples, throughput measured per size
 * (steady state). The best N minimizes the fitted L(N, t * throughput(N)) over the allowed sizes.
 */
function allocateSeconds(seconds: number, input: Input): Choice {
  const { runs, fits } = input;
  const factor = input.maxExtrapolation ?? DEFAULT_MAX_EXTRAPOLATION;
  const throughput = throughputCurve(runs);
  if (!throughput)
    return {
      reason:
        "time budgets need a measured throughput at 2 or more sizes (samplesPerSecond, or samples and trainSeconds)",
    };
  const sizes = positives(runs.map((run) => run.params));
  const nLow = minOf(sizes)! / factor;
  const nHigh = maxOf(sizes)! * factor;
  if (fits.joint) {
    const joint = fits.joint;
    const grid = 240;
    let best = { params: Number.NaN, loss: Number.POSITIVE_INFINITY, index: -1 };
    for (let index = 0; index < grid; index++) {
      const params = nLow * (nHigh / nLow) ** (index / (grid - 1));
      const loss = predictJoint(joint.parameters, params, seconds * throughput(params));
      if (loss < best.loss) best = { params, loss, index };
    }
    if (best.index === 0 || best.index === grid - 1)
      return {
        reason: `the joint fit's best size for ${fmt(seconds)} s lies at or past ${factor}x beyond the sizes trained (${fmt(minOf(sizes)!)} to ${fmt(maxOf(sizes)!)}); runs of about ${fmt(best.params)} parameters${describeSwept(runs, best.params)} would answer it`,
      };
    const data = seconds * throughput(best.params);
    return {
      params: best.params,
      data,
      ...jointPrediction(joint, best.params, data),
      fit: "joint",
      notes: ["training time converted to D with the throughput measured per size"],
    };
  }
  if (fits.powerLaw) {
    const length = fixedLength(runs);
    if (length?.data == null) return { reason: UNKNOWN_LENGTH };
    const data = length.data;
    // Largest size whose fixed-length training fits the time.
    let params: number | null = null;
    const grid = 240;
    for (let index = 0; index < grid; index++) {
      const candidate = nLow * (nHigh / nLow) ** (index / (grid - 1));
      if (data / throughput(candidate) <= seconds) params = candidate;
    }
    if (params === null)
      return { reason: `even the smallest size allowed needs more than ${fmt(seconds)} s at the study's length` };
    return {
      params,
      data,
      steps: length.steps,
      ...powerLawPrediction(fits.powerLaw, params),
      fit: "power-law",
      notes: [
        `every run trained on ${fmt(data)} samples or tokens: the largest size that trains that long within the time; it does not trade size against training length`,
      ],
    };
  }
  return {
    reason: "time budgets need the joint fit or, for a fixed training length, the power law; neither is available",
  };
}

/** D per second of training as a function of N: per-size medians, log-log interpolated; a fitted line outside. */
function throughputCurve(runs: readonly AdvisorRun[]): ((params: number) => number) | null {
  const bySize = new Map<number, number[]>();
  for (const run of runs) {
    let rate: number | null = null;
    if (run.data && run.trainSeconds && run.trainSeconds > 0) rate = run.data / run.trainSeconds;
    if (run.samplesPerSecond && run.samplesPerSecond > 0) {
      // Steady state beats the average over the whole run (which includes warm-up).
      const perSample = run.samples && run.data ? run.data / run.samples : 1;
      rate = run.samplesPerSecond * perSample;
    }
    if (rate === null || !Number.isFinite(rate) || rate <= 0) continue;
    const members = bySize.get(run.params);
    if (members) members.push(rate);
    else bySize.set(run.params, [rate]);
  }
  const points = [...bySize.entries()]
    .map(([params, rates]) => ({ u: Math.log(params), z: Math.log(median(rates)!) }))
    .sort((a, b) => a.u - b.u);
  if (points.length < 2) return null;
  const line = leastSquaresLine(
    points.map((point) => point.u),
    points.map((point) => point.z),
  );
  if (!line) return null;
  return (params: number) => {
    const u = Math.log(params);
    if (u <= points[0]!.u || u >= points.at(-1)!.u) return Math.exp(line.intercept + line.slope * u);
    for (let index = 1; index < points.length; index++) {
      const right = points[index]!;
      if (right.u >= u) {
        const left = points[index - 1]!;
        return Math.exp(left.z + ((u - left.u) / (right.u - left.u)) * (right.z - left.z));
      }
    }
    return Math.exp(points.at(-1)!.z);
  };
}

/** The one training length every run shared, by D or else by steps; null when lengths differ or are unknown. */
function fixedLength(runs: readonly AdvisorRun[]): { data: number | null; steps: number | null } | null {
  const same = (values: number[]) => values.length === runs.length && Math.max(...values) <= Math.min(...values) * 1.01;
  const lengths = positives(runs.map((run) => run.data));
  const steps = positives(runs.map((run) => run.steps));
  const data = same(lengths) ? median(lengths) : null;
  const step = same(steps) ? median(steps) : null;
  return data === null && step === null ? null : { data, steps: step };
}

const UNKNOWN_LENGTH =
  "no fit trades N against D here, and the runs do not share one recorded training length (D or steps)";

/**
 * The swept parameter that sets the size: a numeric key of the runs' cells whose values map to N
 * one to one and increasingly (seeds and learning rates do not). The recommended N is turned back
 * into that parameter by log-log interpolation between the swept values (a fitted power law
 * outside them), rounded when the swept values are integers.
 */
export function sizeParameter(
  runs: readonly AdvisorRun[],
): { key: string; points: { value: number; params: number }[]; integer: boolean } | null {
  const keys = new Set(runs.flatMap((run) => Object.keys(run.swept)));
  const candidates: { key: string; points: { value: number; params: number }[]; integer: boolean }[] = [];
  for (const key of keys) {
    const pairs = runs.flatMap((run) => {
      const value = run.swept[key];
      return typeof value === "number" && value > 0 && Number.isFinite(value) ? [{ value, params: run.params }] : [];
    });
    if (pairs.length !== runs.length) continue;
    const byValue = new Map<number, Set<number>>();
    for (const pair of pairs) {
      const set = byValue.get(pair.value) ?? new Set<number>();
      set.add(pair.params);
      byValue.set(pair.value, set);
    }
    if (byValue.size < 2 || [...byValue.values()].some((set) => set.size !== 1)) continue;
    const points = [...byValue.entries()]
      .map(([value, set]) => ({ value, params: [...set][0]! }))
      .sort((a, b) => a.value - b.value);
    if (!points.every((point, index) => index === 0 || point.params > points[index - 1]!.params)) continue;
    candidates.push({ key, points, integer: points.every((point) => Number.isInteger(point.value)) });
  }
  return candidates.length === 1 ? candidates[0]! : null;
}

function sweptValuesFor(runs: readonly AdvisorRun[], params: number, notes: string[]): Record<string, number> | null {
  const size = sizeParameter(runs);
  if (!size) {
    notes.push("no single swept parameter sets the size in these runs: the answer is in N only");
    return null;
  }
  const value = invertSize(size.points, params);
  const rounded = size.integer ? Math.max(1, Math.round(value)) : value;
  const first = size.points[0]!;
  const last = size.points.at(-1)!;
  if (params < first.params || params > last.params)
    notes.push(`${size.key} = ${fmt(rounded)} lies outside the swept values (${first.value} to ${last.value})`);
  return { [size.key]: rounded };
}

function invertSize(points: readonly { value: number; params: number }[], params: number): number {
  const u = Math.log(params);
  for (let index = 1; index < points.length; index++) {
    const left = points[index - 1]!;
    const right = points[index]!;
    if (Math.log(left.params) <= u && u <= Math.log(right.params)) {
      const weight = (u - Math.log(left.params)) / (Math.log(right.params) - Math.log(left.params));
      return Math.exp(Math.log(left.value) + weight * (Math.log(right.value) - Math.log(left.value)));
    }
  }
  const line = leastSquaresLine(
    points.map((point) => Math.log(point.params)),
    points.map((point) => Math.log(point.value)),
  );
  return line ? Math.exp(line.intercept + line.slope * u) : Number.NaN;
}

function describeSwept(runs: readonly AdvisorRun[], params: number): string {
  const size = sizeParameter(runs);
  if (!size) return "";
  const value = invertSize(size.points, params);
  if (!Number.isFinite(value)) return "";
  return ` (${size.key} ≈ ${fmt(size.integer ? Math.max(1, Math.round(value)) : value)})`;
}

function positives(values: readonly (number | null)[]): number[] {
  return values.filter((value): value is number => value !== null && Number.isFinite(value) && value > 0);
}

function minOf(values: readonly number[]): number | null {
  return values.length === 0 ? null : Math.min(...values);
}

function maxOf(values: readonly number[]): number | null {
  return values.length === 0 ? null : Math.max(...values);
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function fmt(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e6 ? String(value) : value.toPrecision(3);
}
