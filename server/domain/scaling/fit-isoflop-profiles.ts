import { leastSquaresLine } from "./fit-power-law.ts";

/** One run: its size, the compute it used, the budget it was planned for (if declared), its loss. */
export type IsoflopRun = { runId: string; params: number; flops: number; budget: number | null; loss: number };

export type IsoflopProfile = {
  flops: number;
  runs: number;
  /** The parabola's minimum in N; null when the profile has no valley inside the sampled sizes. */
  optimumParams: number | null;
  optimumLoss: number | null;
  /** d²L / d(ln N)² of the fitted parabola; null with fewer than 3 sizes. */
  curvature: number | null;
  /** L = c0 + c1 ln N + c2 (ln N)², for drawing; null with fewer than 3 sizes. */
  parabola: { c0: number; c1: number; c2: number } | null;
  minParams: number;
  maxParams: number;
  reason: string | null;
};

/** ln y = intercept + slope ln C, with a 95% interval on the slope where estimable. */
export type ExponentFit = {
  a: number;
  intercept: number;
  low: number | null;
  high: number | null;
  points: number;
  intervalMethod: "ols-t" | null;
  intervalReason: string | null;
};

/** Runs whose FLOPs lie within this factor of a group's first run share a budget, when none is declared. */
const BIN_FACTOR = 1.15;

/** Declared budgets group exactly; the rest are binned by FLOPs (within 15%, in ascending order). */
export function groupByBudget(runs: readonly IsoflopRun[]): { flops: number; runs: IsoflopRun[] }[] {
  const groups: { flops: number; runs: IsoflopRun[] }[] = [];
  const declared = new Map<number, IsoflopRun[]>();
  const undeclared: IsoflopRun[] = [];
  for (const run of runs) {
    if (run.budget !== null && Number.isFinite(run.budget) && run.budget > 0) {
      const members = declared.get(run.budget);
      if (members) members.push(run);
      else declared.set(run.budget, [run]);
    } else if (Number.isFinite(run.flops) && run.flops > 0) undeclared.push(run);
  }
  for (const [flops, members] of declared) groups.push({ flops, runs: members });
  let current: IsoflopRun[] = [];
  for (const run of undeclared.toSorted((a, b) => a.flops - b.flops)) {
    if (current.length > 0 && run.flops > current[0]!.flops * BIN_FACTOR) {
      groups.push({ flops: geometricMean(current.map((member) => member.flops)), runs: current });
      current = [];
    }
    current.push(run);
  }
  if (current.length > 0) groups.push({ flops: geometricMean(current.map((member) => member.flops)), runs: current });
  return groups.sort((a, b) => a.flops - b.flops);
}

/** Approach 2: a parabola in ln N per budget, its minimum, then N_opt = k C^a on log-log axes. */
export function fitIsoflopProfiles(runs: readonly IsoflopRun[]): {
  profiles: IsoflopProfile[];
  exponent: ExponentFit | null;
  /** ln L_opt = intercept + slope ln C over the valleys, for predicting the loss at a budget. */
  lossLine: { intercept: number; slope: number } | null;
  notes: string[];
} {
  const notes: string[] = [];
  const profiles = groupByBudget(runs).map(({ flops, runs: members }) => profileOf(flops, members));
  const valleys = profiles.filter((profile) => profile.optimumParams !== null);
  const profiled = profiles.filter((profile) => profile.parabola !== null);
  if (profiled.length > valleys.length)
    notes.push(
      `${profiled.length - valleys.length} of ${profiled.length} IsoFLOP budgets show no valley inside their sizes and are left out of the exponent`,
    );
  if (valleys.length < 2) {
    if (profiles.length > 0)
      notes.push(`the IsoFLOP exponent needs valleys at 2 or more budgets; found ${valleys.length}`);
    return { profiles, exponent: null, lossLine: null, notes };
  }
  const exponent = fitExponent(
    valleys.map((profile) => profile.flops),
    valleys.map((profile) => profile.optimumParams!),
  );
  const line = leastSquaresLine(
    valleys.map((profile) => Math.log(profile.flops)),
    valleys.map((profile) => Math.log(profile.optimumLoss!)),
  );
  return {
    profiles,
    exponent,
    lossLine: line ? { intercept: line.intercept, slope: line.slope } : null,
    notes,
  };
}

function profileOf(flops: number, members: readonly IsoflopRun[]): IsoflopProfile {
  const params = members.map((run) => run.params);
  const base = {
    flops,
    runs: members.length,
    minParams: Math.min(...params),
    maxParams: Math.max(...params),
  };
  const sizes = new Set(params).size;
  if (sizes < 3)
    return {
      ...base,
      optimumParams: null,
      optimumLoss: null,
      curvature: null,
      parabola: null,
      reason: `a parabola needs 3 sizes at this budget; got ${sizes}`,
    };
  const parabola = fitParabola(
    members.map((run) => Math.log(run.params)),
    members.map((run) => run.loss),
  );
  if (!parabola)
    return { ...base, optimumParams: null, optimumLoss: null, curvature: null, parabola: null, reason: "degenerate" };
  const curvature = 2 * parabola.c2;
  if (!(parabola.c2 > 0))
    return {
      ...base,
      optimumParams: null,
      optimumLoss: null,
      curvature,
      parabola,
      reason: "the loss does not curve upwards in ln N here: no valley",
    };
  const x = -parabola.c1 / (2 * parabola.c2);
  if (x < Math.log(base.minParams) || x > Math.log(base.maxParams))
    return {
      ...base,
      optimumParams: null,
      optimumLoss: null,
      curvature,
      parabola,
      reason: `the parabola's minimum (N ≈ ${Math.exp(x).toPrecision(3)}) lies outside the sizes trained at this budget`,
    };
  return {
    ...base,
    optimumParams: Math.exp(x),
    optimumLoss: parabola.c0 + parabola.c1 * x + parabola.c2 * x * x,
    curvature,
    parabola,
    reason: null,
  };
}

/** Least squares L = c0 + c1 x + c2 x², solved on centred x for conditioning. */
export function fitParabola(x: readonly number[], y: readonly number[]): { c0: number; c1: number; c2: number } | null {
  const centre = x.reduce((sum, value) => sum + value, 0) / x.length;
  const u = x.map((value) => value - centre);
  const s = [0, 0, 0, 0, 0];
  const t = [0, 0, 0];
  for (let index = 0; index < u.length; index++) {
    let power = 1;
    for (let k = 0; k <= 4; k++) {
      s[k]! += power;
      if (k <= 2) t[k]! += power * y[index]!;
      power *= u[index]!;
    }
  }
  const solution = solve3(
    [
      [s[0]!, s[1]!, s[2]!],
      [s[1]!, s[2]!, s[3]!],
      [s[2]!, s[3]!, s[4]!],
    ],
    t,
  );
  if (!solution) return null;
  const [d0, d1, d2] = solution as [number, number, number];
  // Back from u = x - centre to x.
  return { c0: d0 - d1 * centre + d2 * centre * centre, c1: d1 - 2 * d2 * centre, c2: d2 };
}

function solve3(matrix: number[][], rhs: number[]): number[] | null {
  const m = matrix.map((row, index) => [...row, rhs[index]!]);
  for (let column = 0; column < 3; column++) {
    let pivot = column;
    for (let row = column + 1; row < 3; row++)
      if (Math.abs(m[row]![column]!) > Math.abs(m[pivot]![column]!)) pivot = row;
    if (Math.abs(m[pivot]![column]!) < 1e-12) return null;
    [m[column], m[pivot]] = [m[pivot]!, m[column]!];
    for (let row = 0; row < 3; row++) {
      if (row === column) continue;
      const factor = m[row]![column]! / m[column]![column]!;
      for (let k = column; k < 4; k++) m[row]![k]! -= factor * m[column]![k]!;
    }
  }
  return m.map((row, index) => row[3]! / row[index]!);
}

/** Two-sided 95% Student t quantiles for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(degreesOfFreedom: number): number {
  return T975[degreesOfFreedom - 1] ?? 1.96;
}

/** ln y = intercept + a ln C by least squares, with a t interval on a when 3 or more points leave a residual. */
export function fitExponent(flops: readonly number[], values: readonly number[]): ExponentFit | null {
  const u = flops.map(Math.log);
  const z = values.map(Math.log);
  const line = leastSquaresLine(u, z);
  if (!line) return null;
  const n = u.length;
  const base = { a: line.slope, intercept: line.intercept, points: n };
  if (n < 3)
    return {
      ...base,
      low: null,
      high: null,
      intervalMethod: null,
      intervalReason: "2 points fix a line exactly: no interval",
    };
  const uMean = u.reduce((sum, value) => sum + value, 0) / n;
  let residual = 0;
  let suu = 0;
  for (let index = 0; index < n; index++) {
    residual += (z[index]! - (line.intercept + line.slope * u[index]!)) ** 2;
    suu += (u[index]! - uMean) ** 2;
  }
  const standardError = Math.sqrt(residual / (n - 2) / suu);
  const half = tQuantile975(n - 2) * standardError;
  if (!(half > 0) || !Number.isFinite(half))
    return {
      ...base,
      low: null,
      high: null,
      intervalMethod: null,
      intervalReason: "the points lie exactly on a line: the spread cannot be estimated",
    };
  return { ...base, low: line.slope - half, high: line.slope + half, intervalMethod: "ols-t", intervalReason: null };
}

/** One run's training curve in FLOPs: loss after each logged step. */
export type FlopCurve = { runId: string; params: number; points: { flops: number; loss: number }[] };

/**
 * Approach 1: at each of `samples` FLOP counts (log-spaced over the curves' span), the lowest loss
 * any run reached there (each curve interpolated linearly in ln FLOPs), and which run. The exponent
 * is fitted to the winners' N against C; its points are not independent (one curve wins many in a
 * row), so no interval is claimed.
 */
export function trainingCurveEnvelope(
  curves: readonly FlopCurve[],
  samples = 40,
): {
  points: { flops: number; loss: number; runId: string; params: number }[];
  exponent: ExponentFit | null;
  reason: string | null;
} {
  const usable = curves
    .map((curve) => ({
      ...curve,
      points: curve.points
        .filter((point) => Number.isFinite(point.flops) && point.flops > 0 && Number.isFinite(point.loss))
        .sort((a, b) => a.flops - b.flops),
    }))
    .filter((curve) => curve.points.length >= 2);
  if (usable.length < 2)
    return { points: [], exponent: null, reason: "the envelope needs logged training curves of 2 or more runs" };
  const from = Math.min(...usable.map((curve) => curve.points[0]!.flops));
  const to = Math.max(...usable.map((curve) => curve.points.at(-1)!.flops));
  const points: { flops: number; loss: number; runId: string; params: number }[] = [];
  for (let index = 0; index < samples; index++) {
    const flops = from * (to / from) ** (index / (samples - 1));
    let best: { loss: number; runId: string; params: number } | null = null;
    for (const curve of usable) {
      const loss = interpolateLog(curve.points, flops);
      if (loss !== null && (!best || loss < best.loss)) best = { loss, runId: curve.runId, params: curve.params };
    }
    if (best) points.push({ flops, ...best });
  }
  const winners = new Set(points.map((point) => point.params)).size;
  if (winners < 3)
    return {
      points,
      exponent: null,
      reason: `the envelope is won by ${winners} size${winners === 1 ? "" : "s"}; an exponent needs 3 or more`,
    };
  const exponent = fitExponent(
    points.map((point) => point.flops),
    points.map((point) => point.params),
  );
  return {
    points,
    exponent: exponent
      ? {
          ...exponent,
          low: null,
          high: null,
          intervalMethod: null,
          intervalReason: "envelope points are not independent draws: no interval is claimed",
        }
      : null,
    reason: null,
  };
}

function interpolateLog(points: readonly { flops: number; loss: number }[], flops: number): number | null {
  if (flops < points[0]!.flops || flops > points.at(-1)!.flops) return null;
  for (let index = 1; index < points.length; index++) {
    const right = points[index]!;
    if (right.flops >= flops) {
      const left = points[index - 1]!;
      if (right.flops === left.flops) return Math.min(left.loss, right.loss);
      const weight = Math.log(flops / left.flops) / Math.log(right.flops / left.flops);
      return left.loss + weight * (right.loss - left.loss);
    }
  }
  return points.at(-1)!.loss;
}

function geometricMean(values: readonly number[]): number {
  return Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length);
}
