// ml-levenberg-marquardt (mljs, MIT, two small dependencies) is the maintained JS
// Levenberg-Marquardt with box bounds and an analytical Jacobian; a hand-rolled damped
// Gauss-Newton would be more code to trust, and the scaling fit is the product's core number.
import { levenbergMarquardt } from "ml-levenberg-marquardt";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** One run: its size (parameters, FLOPs or seconds) and its loss. */
export type PowerLawPoint = { x: number; loss: number };

/** L(x) = E + A * x^(-alpha). */
export type PowerLawParameters = { alpha: number; A: number; E: number };

export type PowerLawFit =
  | (PowerLawParameters & {
      ok: true;
      /** 1 - SS_res / SS_tot on the losses as measured. */
      r2: number;
      /** Points used, and how many distinct sizes they cover. */
      n: number;
      sizes: number;
      /** sqrt(SS_res / (n - 3)) in loss units; null when n = 3 leaves no degree of freedom. */
      residualStd: number | null;
      warnings: string[];
    })
  | { ok: false; reason: string; n: number; sizes: number };

export type Interval = { low: number; high: number };

export type PowerLawBootstrap = {
  /** Resamples drawn, and how many of them gave a fit. */
  resamples: number;
  fitted: number;
  alpha: Interval;
  A: Interval;
  E: Interval;
  /** Each resample's parameters, for prediction intervals at any size. */
  samples: PowerLawParameters[];
};

export const MIN_SIZES = 3;
const ALPHA_BOUNDS = [1e-6, 10] as const;
const LOG_B_BOUNDS = [-40, 40] as const;
const FLOOR_FRACTIONS = [0, 0.5, 0.8, 0.95, 0.99];

export function predictLoss(parameters: PowerLawParameters, x: number): number {
  return parameters.E + parameters.A * x ** -parameters.alpha;
}

/**
 * The problem as the optimizer sees it. x enters as u = ln x - u0 (centred), and A as
 * b = A * exp(-alpha * u0) / scale, kept as ln b: so A (often 1e2..1e4) and alpha are not
 * traded off across a range of 1e7 in x, and b stays positive without a bound. Losses are
 * divided by their mean so E and b are O(1) whatever the loss's units.
 *
 * Residuals are relative (divided by the size's mean loss): seed-to-seed spread grows with the
 * loss, and the small-loss end is the one an extrapolation leans on. With one weight per size,
 * the weighted sum over runs equals the sum over per-size means weighted by sqrt(count) (plus a
 * constant), so the optimizer sees one point per size whatever the number of seeds.
 */
type Scaled = { u: number[]; y: number[]; weight: number[]; u0: number; scale: number };
type Vector = [e: number, logB: number, alpha: number];

function scaleProblem(points: readonly PowerLawPoint[]): Scaled {
  const bySize = new Map<number, number[]>();
  for (const point of points) {
    const losses = bySize.get(point.x);
    if (losses) losses.push(point.loss);
    else bySize.set(point.x, [point.loss]);
  }
  const sizes = [...bySize.keys()];
  const logX = sizes.map(Math.log);
  const u0 = mean(logX);
  const scale = mean(points.map((point) => point.loss));
  const means = sizes.map((x) => mean(bySize.get(x)!) / scale);
  return {
    u: logX.map((value) => value - u0),
    y: means,
    weight: sizes.map((x, index) => Math.sqrt(bySize.get(x)!.length) / means[index]!),
    u0,
    scale,
  };
}

function toParameters(vector: Vector, problem: Scaled): PowerLawParameters {
  const [e, logB, alpha] = vector;
  return { alpha, A: problem.scale * Math.exp(logB + alpha * problem.u0), E: problem.scale * e };
}

function toVector(parameters: PowerLawParameters, problem: Scaled): Vector {
  return [
    parameters.E / problem.scale,
    Math.log(parameters.A / problem.scale) - parameters.alpha * problem.u0,
    parameters.alpha,
  ];
}

function weightedError(vector: Vector, problem: Scaled): number {
  const [e, logB, alpha] = vector;
  let sum = 0;
  for (let index = 0; index < problem.u.length; index++) {
    const residual = problem.y[index]! - (e + Math.exp(logB - alpha * problem.u[index]!));
    sum += (residual * problem.weight[index]!) ** 2;
  }
  return sum;
}

/** A start from a floor e below the smallest loss: ln(y - e) = ln b - alpha * u is a straight line. */
function logLinearStart(problem: Scaled, e: number): Vector | null {
  const u: number[] = [];
  const z: number[] = [];
  problem.y.forEach((y, index) => {
    if (y - e > 0) {
      u.push(problem.u[index]!);
      z.push(Math.log(y - e));
    }
  });
  const line = leastSquaresLine(u, z);
  if (!line) return null;
  return [e, clamp(line.intercept, ...LOG_B_BOUNDS), clamp(-line.slope, 0.01, 5)];
}

function refine(problem: Scaled, start: Vector, upperE: number): Vector {
  // The library's own `weights` option scales its error and its step inconsistently (5.1.0),
  // so the weights are folded into the data: the optimizer sees point i as index i, and
  // both the target and the model are multiplied by that point's weight.
  const data = { x: problem.u.map((_, index) => index), y: problem.y.map((y, index) => y * problem.weight[index]!) };
  const model =
    ([e, logB, alpha]: number[]) =>
    (index: number) =>
      (e! + Math.exp(logB! - alpha! * problem.u[index]!)) * problem.weight[index]!;
  const jacobian =
    ([, logB, alpha]: number[]) =>
    (index: number) => {
      const u = problem.u[index]!;
      const weight = problem.weight[index]!;
      const term = Math.exp(logB! - alpha! * u) * weight;
      return [weight, term, -u * term];
    };
  let best = start;
  let bestError = weightedError(start, problem);
  // The library stops only at an absolute error threshold, and never rejects a bad step (it
  // keeps its best point): short passes, each from the last best point with fresh damping,
  // until a pass no longer improves.
  for (let pass = 0; pass < 12; pass++) {
    let result: ReturnType<typeof levenbergMarquardt>;
    try {
      result = levenbergMarquardt(data, model, {
        initialValues: best,
        jacobianFunction: jacobian,
        minValues: [0, LOG_B_BOUNDS[0], ALPHA_BOUNDS[0]],
        maxValues: [upperE, LOG_B_BOUNDS[1], ALPHA_BOUNDS[1]],
        maxIterations: 15,
        errorTolerance: 0,
      });
    } catch {
      // The library inverts J^T J + damping with no guard: where the power-law term has vanished
      // (alpha or b at a bound) that matrix is singular and it throws. The point reached so far stands.
      break;
    }
    const candidate = result.parameterValues as Vector;
    const error = weightedError(candidate, problem);
    if (!(error < bestError * (1 - 1e-10))) break;
    best = candidate;
    bestError = error;
  }
  return best;
}

function usablePoints(points: readonly PowerLawPoint[]): PowerLawPoint[] {
  return points.filter(
    (point) => Number.isFinite(point.x) && point.x > 0 && Number.isFinite(point.loss) && point.loss > 0,
  );
}

/**
 * Fits L(x) = E + A * x^(-alpha) by weighted nonlinear least squares (A > 0, alpha > 0, E >= 0).
 * Points with a non-finite or non-positive size or loss are left out. Fewer than 3 distinct
 * sizes cannot pin three parameters: that is a result (`ok: false`), not an error.
 * `warmStart` (a previous fit's parameters) replaces most of the starting points: bootstrap refits.
 */
export function fitPowerLaw(
  points: readonly PowerLawPoint[],
  options: { warmStart?: PowerLawParameters } = {},
): PowerLawFit {
  const usable = usablePoints(points);
  const sizes = new Set(usable.map((point) => point.x)).size;
  if (sizes < MIN_SIZES) {
    return {
      ok: false,
      reason: `need at least ${MIN_SIZES} sizes to fit E, A and alpha; got ${sizes}`,
      n: usable.length,
      sizes,
    };
  }
  const problem = scaleProblem(usable);
  const minY = Math.min(...problem.y);
  const upperE = Math.max(...problem.y);
  const fractions = options.warmStart ? [0.9] : FLOOR_FRACTIONS;
  const starts = fractions
    .map((fraction) => logLinearStart(problem, fraction * minY))
    .filter((start): start is Vector => start !== null);
  if (options.warmStart) starts.unshift(clampVector(toVector(options.warmStart, problem), upperE));

  let best: Vector | null = null;
  let bestError = Infinity;
  for (const start of starts) {
    const candidate = refine(problem, start, upperE);
    const error = weightedError(candidate, problem);
    if (error < bestError) {
      best = candidate;
      bestError = error;
    }
  }
  if (!best) return { ok: false, reason: "the optimizer found no finite fit", n: usable.length, sizes };

  const parameters = toParameters(best, problem);
  const lossMean = mean(usable.map((point) => point.loss));
  let residualSum = 0;
  let totalSum = 0;
  for (const point of usable) {
    residualSum += (point.loss - predictLoss(parameters, point.x)) ** 2;
    totalSum += (point.loss - lossMean) ** 2;
  }
  const warnings: string[] = [];
  if (best[2] <= ALPHA_BOUNDS[0] * 10)
    warnings.push("the loss does not fall with size here: alpha sits at its lower bound");
  if (best[0] <= 1e-9) warnings.push("E sits at its bound 0: the data show no loss floor, so E is not estimated");
  return {
    ok: true,
    ...parameters,
    r2: totalSum > 0 ? 1 - residualSum / totalSum : 1,
    n: usable.length,
    sizes,
    residualStd: usable.length > 3 ? Math.sqrt(residualSum / (usable.length - 3)) : null,
    warnings,
  };
}

/**
 * Percentile bootstrap over seeds: each resample draws, within every size, as many runs as that
 * size has, with replacement, and refits. Sizes stay fixed (the design is not random; the seed
 * noise is). `groups` holds one array of points per size. Deterministic for a given seed.
 */
export function bootstrapPowerLaw(
  groups: readonly (readonly PowerLawPoint[])[],
  fit: PowerLawParameters,
  options: { resamples?: number; seed?: number; level?: number } = {},
): PowerLawBootstrap | null {
  const resamples = options.resamples ?? 200;
  const level = options.level ?? 0.95;
  const usableGroups = groups.map(usablePoints).filter((group) => group.length > 0);
  return resampleAndRefit(fit, { resamples, level, seed: options.seed ?? 0 }, (rng) =>
    usableGroups.flatMap((group) => group.map(() => group[uniformInt(rng, 0, group.length - 1)]!)),
  );
}

/**
 * The loop both bootstraps share: draw `resamples` data sets, refit each from the full fit (a degenerate
 * resample is skipped), and give percentile intervals, or null when too few resamples fitted.
 */
function resampleAndRefit(
  fit: PowerLawParameters,
  { resamples, level, seed }: { resamples: number; level: number; seed: number },
  draw: (rng: ReturnType<typeof xoroshiro128plus>) => PowerLawPoint[],
): PowerLawBootstrap | null {
  const rng = xoroshiro128plus(seed);
  const samples: PowerLawParameters[] = [];
  for (let index = 0; index < resamples; index++) {
    const refit = refitOrNull(draw(rng), fit);
    if (refit) samples.push(refit);
  }
  if (samples.length < minimumFitted(resamples)) return null;
  const interval = (values: number[]) => percentileInterval(values, level);
  return {
    resamples,
    fitted: samples.length,
    alpha: interval(samples.map((sample) => sample.alpha)),
    A: interval(samples.map((sample) => sample.A)),
    E: interval(samples.map((sample) => sample.E)),
    samples,
  };
}

/** A resample's fit, or null where it fails (a resample may be degenerate: it is skipped, not fatal). */
function refitOrNull(points: readonly PowerLawPoint[], warmStart: PowerLawParameters): PowerLawParameters | null {
  try {
    const refit = fitPowerLaw(points, { warmStart });
    if (!refit.ok || ![refit.alpha, refit.A, refit.E].every(Number.isFinite)) return null;
    return { alpha: refit.alpha, A: refit.A, E: refit.E };
  } catch {
    return null;
  }
}

/** At least half the resamples (and 1) must give a fit, else the percentiles describe a selected few. */
export function minimumFitted(resamples: number): number {
  return Math.max(1, Math.ceil(resamples / 2));
}

/** The bootstrap interval of the predicted loss at size x. */
export function predictionInterval(bootstrap: PowerLawBootstrap, x: number, level = 0.95): Interval {
  return percentileInterval(
    bootstrap.samples.map((sample) => predictLoss(sample, x)),
    level,
  );
}

export function percentileInterval(values: readonly number[], level: number): Interval {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return { low: quantile(sorted, tail), high: quantile(sorted, 1 - tail) };
}

/** Linear interpolation between order statistics (numpy's default). */
function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = p * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** Ordinary least squares z = intercept + slope * u; null when u does not vary. */
export function leastSquaresLine(
  u: readonly number[],
  z: readonly number[],
): { slope: number; intercept: number; r2: number } | null {
  if (u.length < 2) return null;
  const uMean = mean(u);
  const zMean = mean(z);
  let suu = 0;
  let suz = 0;
  let szz = 0;
  for (let index = 0; index < u.length; index++) {
    const du = u[index]! - uMean;
    const dz = z[index]! - zMean;
    suu += du * du;
    suz += du * dz;
    szz += dz * dz;
  }
  if (suu === 0) return null;
  const slope = suz / suu;
  return { slope, intercept: zMean - slope * uMean, r2: szz > 0 ? (suz * suz) / (suu * szz) : 1 };
}

function clampVector([e, logB, alpha]: Vector, upperE: number): Vector {
  return [clamp(e, 0, upperE), clamp(logB, ...LOG_B_BOUNDS), clamp(alpha, ...ALPHA_BOUNDS)];
}

function clamp(value: number, low: number, high: number): number {
  return Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : low;
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

export type PowerLawIntervals = {
  bootstrap: PowerLawBootstrap | null;
  method: "seed-bootstrap" | "residual-bootstrap" | null;
  /** Why there is no interval, when there is none. */
  reason: string | null;
};

/**
 * Intervals only where they can be estimated. With at least 2 seeds at every size: the seed
 * bootstrap. Otherwise, with at least 2 residual degrees of freedom: a residual bootstrap (the fit's
 * residuals, resampled onto its predictions), labelled as such. Otherwise none, with the reason.
 * An interval of zero width is never returned: it would claim a certainty the data do not give.
 */
export function powerLawIntervals(
  groups: readonly (readonly PowerLawPoint[])[],
  fit: PowerLawFit,
  options: { resamples?: number; seed?: number } = {},
): PowerLawIntervals {
  if (!fit.ok) return { bootstrap: null, method: null, reason: "no fit" };
  if ((options.resamples ?? 200) === 0) return { bootstrap: null, method: null, reason: "no resamples asked for" };
  const usableGroups = groups.map(usablePoints).filter((group) => group.length > 0);
  const n = usableGroups.reduce((sum, group) => sum + group.length, 0);
  let bootstrap: PowerLawBootstrap | null;
  let method: PowerLawIntervals["method"];
  if (usableGroups.every((group) => group.length >= 2)) {
    bootstrap = bootstrapPowerLaw(usableGroups, fit, options);
    method = "seed-bootstrap";
  } else if (n - 3 >= 2) {
    bootstrap = residualBootstrapPowerLaw(usableGroups.flat(), fit, options);
    method = "residual-bootstrap";
  } else
    return {
      bootstrap: null,
      method: null,
      reason: `one seed per size and ${n} runs for 3 parameters: too few residuals to estimate an interval; run 2 or more seeds per size`,
    };
  if (!bootstrap)
    return {
      bootstrap: null,
      method: null,
      reason: "fewer than half of the bootstrap resamples gave a fit: an interval cannot be estimated",
    };
  const widths = [bootstrap.alpha, bootstrap.A, bootstrap.E].every((interval) => interval.high > interval.low);
  if (!widths)
    return {
      bootstrap: null,
      method: null,
      reason: "the resamples did not vary the fit: an interval cannot be estimated",
    };
  return { bootstrap, method, reason: null };
}

/** Residual bootstrap: y* = fitted + a residual drawn with replacement; sizes fixed. Deterministic for a seed. */
export function residualBootstrapPowerLaw(
  points: readonly PowerLawPoint[],
  fit: PowerLawParameters,
  options: { resamples?: number; seed?: number; level?: number } = {},
): PowerLawBootstrap | null {
  const resamples = options.resamples ?? 200;
  const level = options.level ?? 0.95;
  const usable = usablePoints(points);
  const fitted = usable.map((point) => predictLoss(fit, point.x));
  const residuals = usable.map((point, index) => point.loss - fitted[index]!);
  return resampleAndRefit(fit, { resamples, level, seed: options.seed ?? 0 }, (rng) =>
    usable.map((point, index) => ({
      x: point.x,
      loss: fitted[index]! + residuals[uniformInt(rng, 0, residuals.length - 1)]!,
    })),
  );
}
