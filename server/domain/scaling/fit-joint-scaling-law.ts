import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { percentileInterval } from "./fit-power-law.ts";
import { minimizeLbfgs } from "./minimize-lbfgs.ts";

/** One run: N parameters, trained on D tokens (or samples), reaching this loss. */
export type JointPoint = { params: number; data: number; loss: number };

/** L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022, eq. 2). */
export type JointParameters = { E: number; A: number; B: number; alpha: number; beta: number };

export type JointFit =
  | (JointParameters & {
      ok: true;
      /** The Huber objective at the optimum (sum over runs, on log-loss residuals). */
      objective: number;
      n: number;
      starts: number;
      warnings: string[];
    })
  | { ok: false; reason: string; n: number };

/** Hoffmann et al. 2022 Appendix D.2, kept by Besiroglu et al. 2024. */
export const HUBER_DELTA = 1e-3;

/** Starting points of Besiroglu et al. 2024 (their data_analysis notebook): 5 x 5 x 5 x 6 x 6 = 4500. */
export type JointGrid = { alpha: number[]; beta: number[]; e: number[]; a: number[]; b: number[] };
export const BESIROGLU_GRID: JointGrid = {
  alpha: [0, 0.5, 1, 1.5, 2],
  beta: [0, 0.5, 1, 1.5, 2],
  e: [-1, -0.5, 0, 0.5, 1],
  a: [0, 5, 10, 15, 20, 25],
  b: [0, 5, 10, 15, 20, 25],
};

export const MIN_JOINT_RUNS = 8;
/** Five parameters need N and D each at 3 or more values and 6 or more distinct (N, D) cells. */
export const MIN_DISTINCT = 3;
export const MIN_CELLS = 6;
/**
 * L-BFGS runs from the PRESCREEN starts of the grid with the lowest objective (the objective at all
 * 4,500 costs milliseconds; a descent from each, seconds). On the Chinchilla table (245 rows, and 240
 * without the five highest losses) the best 50 reach the same optimum as all 4,500, objective equal
 * to 1e-15 relative (review scratch/h10/review.md, section 5); `prescreen: Infinity` runs the full grid.
 */
export const PRESCREEN = 50;
/** Bootstrap refits start from the full fit's optimum and from this many of the best grid starts. */
const BOOTSTRAP_GRID_STARTS = 2;

/** Why these runs cannot identify 5 parameters, or null when the design is enough. */
export function jointDesignProblem(points: readonly JointPoint[]): string | null {
  const distinctN = new Set(points.map((point) => point.params)).size;
  const distinctD = new Set(points.map((point) => point.data)).size;
  const cells = new Set(points.map((point) => `${point.params}:${point.data}`)).size;
  if (distinctN < MIN_DISTINCT || distinctD < MIN_DISTINCT || cells < MIN_CELLS)
    return `the joint fit of 5 parameters needs runs at ${MIN_DISTINCT} or more distinct N, ${MIN_DISTINCT} or more distinct D and ${MIN_CELLS} or more distinct (N, D) pairs; got ${distinctN} distinct N, ${distinctD} distinct D and ${cells} pairs`;
  return null;
}

/** The starts with the lowest objective on these points, best first (non-finite ones dropped). */
export function prescreenStarts(
  points: readonly JointPoint[],
  starts: readonly (readonly number[])[],
  keep: number,
): (readonly number[])[] {
  if (starts.length <= keep) return [...starts];
  const objective = jointObjective(points);
  return starts
    .map((start) => ({ start, value: objective(start).value }))
    .filter((entry) => Number.isFinite(entry.value))
    .sort((first, second) => first.value - second.value)
    .slice(0, keep)
    .map((entry) => entry.start);
}

/** theta = [a, b, e, alpha, beta] with A = e^a, B = e^b, E = e^e. */
export type Theta = [a: number, b: number, e: number, alpha: number, beta: number];

export function gridStarts(grid: JointGrid = BESIROGLU_GRID): Theta[] {
  const starts: Theta[] = [];
  for (const alpha of grid.alpha)
    for (const beta of grid.beta)
      for (const e of grid.e) for (const a of grid.a) for (const b of grid.b) starts.push([a, b, e, alpha, beta]);
  return starts;
}

export function huber(residual: number, delta = HUBER_DELTA): number {
  const size = Math.abs(residual);
  return size <= delta ? 0.5 * residual * residual : delta * (size - 0.5 * delta);
}

/**
 * sum_i Huber_delta(LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i) and its gradient.
 * `scale` multiplies both (the optimizer sees values of order 1; the optimum is the same).
 */
export function jointObjective(points: readonly JointPoint[], delta = HUBER_DELTA, scale = 1) {
  const logN = points.map((point) => Math.log(point.params));
  const logD = points.map((point) => Math.log(point.data));
  const logL = points.map((point) => Math.log(point.loss));
  return (theta: readonly number[]): { value: number; gradient: number[] } => {
    const [a, b, e, alpha, beta] = theta as Theta;
    let value = 0;
    const gradient = [0, 0, 0, 0, 0];
    for (let index = 0; index < logN.length; index++) {
      const t1 = a - alpha * logN[index]!;
      const t2 = b - beta * logD[index]!;
      const top = Math.max(t1, t2, e);
      const w1 = Math.exp(t1 - top);
      const w2 = Math.exp(t2 - top);
      const w3 = Math.exp(e - top);
      const sum = w1 + w2 + w3;
      const residual = top + Math.log(sum) - logL[index]!;
      value += huber(residual, delta);
      const slope = Math.abs(residual) <= delta ? residual : delta * Math.sign(residual);
      const s1 = (slope * w1) / sum;
      const s2 = (slope * w2) / sum;
      gradient[0]! += s1;
      gradient[1]! += s2;
      gradient[2]! += (slope * w3) / sum;
      gradient[3]! -= s1 * logN[index]!;
      gradient[4]! -= s2 * logD[index]!;
    }
    return { value: value * scale, gradient: gradient.map((component) => component * scale) };
  };
}

export function toParameters([a, b, e, alpha, beta]: readonly number[]): JointParameters {
  return { A: Math.exp(a!), B: Math.exp(b!), E: Math.exp(e!), alpha: alpha!, beta: beta! };
}

export function toTheta(parameters: JointParameters): Theta {
  return [Math.log(parameters.A), Math.log(parameters.B), Math.log(parameters.E), parameters.alpha, parameters.beta];
}

export function predictJoint(parameters: JointParameters, params: number, data: number): number {
  return parameters.E + parameters.A * params ** -parameters.alpha + parameters.B * data ** -parameters.beta;
}

function usable(points: readonly JointPoint[]): JointPoint[] {
  return points.filter(
    (point) =>
      [point.params, point.data, point.loss].every((value) => Number.isFinite(value) && value > 0) &&
      // log L must be finite and the LSE form cannot fit a loss at or below 0.
      point.loss > 0,
  );
}

/**
 * The fits are generators that yield every few hundred milliseconds of work: run to completion
 * at once (runSync) or, in a server, handing the event loop back between slices (runAsync), so a
 * few seconds of fitting do not stall every other request.
 */
type Steps<T> = Generator<void, T, void>;

function runSync<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

async function runAsync<T>(steps: Steps<T>): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

const STARTS_PER_SLICE = 50;

/** Minimizes from each start; the lowest objective wins. Deterministic. */
function* bestFrom(
  points: readonly JointPoint[],
  starts: readonly (readonly number[])[],
  maxIterations: number,
  options: { requireConverged?: boolean } = {},
): Steps<{ x: number[]; value: number } | null> {
  // The optimizer sees the objective divided by delta: residuals beyond delta then weigh 1 each.
  const objective = jointObjective(points, HUBER_DELTA, 1 / HUBER_DELTA);
  let best: { x: number[]; value: number } | null = null;
  for (const [index, start] of starts.entries()) {
    if (index > 0 && index % STARTS_PER_SLICE === 0) yield;
    const result = minimizeLbfgs(objective, start, { maxIterations });
    if (result.x.every(Number.isFinite) && Number.isFinite(result.value) && (!best || result.value < best.value))
      best = { x: result.x, value: result.value };
  }
  if (!best) return null;
  // Polish the winner: grid starts run on a short leash, the optimum deserves a long one.
  const polished = minimizeLbfgs(objective, best.x, { maxIterations: 5000 });
  // A bootstrap refit that did not converge is not a sample of the fit's spread.
  if (options.requireConverged && !polished.converged) return null;
  const winner = polished.value <= best.value ? polished : best;
  return { x: winner.x, value: winner.value * HUBER_DELTA };
}

/**
 * The joint fit, Approach 3 of Hoffmann et al. (2022) as replicated by Besiroglu et al. (2024):
 * Huber (delta 1e-3) on log L against LSE(a - alpha log N, b - beta log D, e), L-BFGS from every
 * point of their grid of starts (pre-screened: the PRESCREEN best by objective). Needs at least
 * MIN_JOINT_RUNS runs over 3 or more distinct N, 3 or more distinct D and 6 or more (N, D) cells:
 * five parameters from fewer is not a fit (2 N x 2 D fitted a flat valley with tight, wrong intervals).
 */
type FitOptions = {
  grid?: JointGrid;
  starts?: readonly (readonly number[])[];
  maxIterations?: number;
  /** L-BFGS from this many of the starts, those with the lowest objective (default PRESCREEN). */
  prescreen?: number;
};

export function fitJointScalingLaw(points: readonly JointPoint[], options: FitOptions = {}): JointFit {
  return runSync(fitSteps(points, options));
}

/** fitJointScalingLaw, yielding to the event loop between slices of starts. */
export function fitJointScalingLawAsync(points: readonly JointPoint[], options: FitOptions = {}): Promise<JointFit> {
  return runAsync(fitSteps(points, options));
}

function* fitSteps(points: readonly JointPoint[], options: FitOptions): Steps<JointFit> {
  const data = usable(points);
  const n = data.length;
  if (n < MIN_JOINT_RUNS)
    return { ok: false, reason: `the joint fit of 5 parameters needs at least ${MIN_JOINT_RUNS} runs; got ${n}`, n };
  const design = jointDesignProblem(data);
  if (design) return { ok: false, reason: design, n };
  const grid = options.starts ?? gridStarts(options.grid);
  const starts = prescreenStarts(data, grid, options.prescreen ?? PRESCREEN);
  const best = yield* bestFrom(data, starts, options.maxIterations ?? 300);
  if (!best) return { ok: false, reason: "the optimizer found no finite fit from any start", n };
  const parameters = toParameters(best.x);
  const warnings: string[] = [];
  if (!Object.values(parameters).every(Number.isFinite))
    return { ok: false, reason: "the fit ran off to infinite parameters", n };
  if (parameters.alpha <= 0 || parameters.beta <= 0)
    warnings.push("alpha or beta is not positive: loss does not fall with N or with D in these runs");
  return { ok: true, ...parameters, objective: best.value, n, starts: grid.length, warnings };
}

export type JointBootstrap = {
  method: "seed-bootstrap" | "run-bootstrap";
  resamples: number;
  fitted: number;
  samples: JointParameters[];
};

/**
 * Percentile bootstrap. "seed-bootstrap" when every (N, D) cell holds at least 2 runs: resample
 * within cells (the design is fixed, the seed noise is not). Otherwise "run-bootstrap": resample
 * runs with replacement, as Besiroglu et al. did. Each refit starts from the full fit's optimum.
 */
type BootstrapOptions = { resamples?: number; seed?: number };

export function bootstrapJoint(
  points: readonly JointPoint[],
  fit: JointParameters,
  options: BootstrapOptions = {},
): JointBootstrap | null {
  return runSync(bootstrapSteps(points, fit, options));
}

/** bootstrapJoint, yielding to the event loop between resamples. */
export function bootstrapJointAsync(
  points: readonly JointPoint[],
  fit: JointParameters,
  options: BootstrapOptions = {},
): Promise<JointBootstrap | null> {
  return runAsync(bootstrapSteps(points, fit, options));
}

function* bootstrapSteps(
  points: readonly JointPoint[],
  fit: JointParameters,
  options: BootstrapOptions,
): Steps<JointBootstrap | null> {
  const data = usable(points);
  const cells = new Map<string, JointPoint[]>();
  for (const point of data) {
    const key = `${point.params}:${point.data}`;
    const members = cells.get(key);
    if (members) members.push(point);
    else cells.set(key, [point]);
  }
  const bySeed = [...cells.values()].every((members) => members.length >= 2);
  const groups = bySeed ? [...cells.values()] : [data];
  const resamples = options.resamples ?? 100;
  const rng = xoroshiro128plus(options.seed ?? 0);
  // From the optimum, and from a few of the grid's best starts: a flat valley then shows up as width.
  const starts = [toTheta(fit), ...prescreenStarts(data, gridStarts(), BOOTSTRAP_GRID_STARTS)];
  const samples: JointParameters[] = [];
  for (let draw = 0; draw < resamples; draw++) {
    const resampled = groups.flatMap((group) => group.map(() => group[uniformInt(rng, 0, group.length - 1)]!));
    // A resample that cannot identify 5 parameters is no sample of the fit (it counts as not fitted).
    if (jointDesignProblem(resampled)) continue;
    if (draw > 0 && draw % 5 === 0) yield;
    const best = yield* bestFrom(resampled, starts, 1000, { requireConverged: true });
    if (best) {
      const parameters = toParameters(best.x);
      if (Object.values(parameters).every(Number.isFinite)) samples.push(parameters);
    }
  }
  if (samples.length < Math.max(10, resamples / 2)) return null;
  return { method: bySeed ? "seed-bootstrap" : "run-bootstrap", resamples, fitted: samples.length, samples };
}

export type Range = [low: number, high: number];

/** 95% percentile intervals of each parameter; null where an interval has no width (not estimable). */
export function jointIntervals(bootstrap: JointBootstrap, level = 0.95): Record<keyof JointParameters, Range> | null {
  const keys = ["E", "A", "B", "alpha", "beta"] as const;
  const out = {} as Record<keyof JointParameters, Range>;
  for (const key of keys) {
    const interval = percentileInterval(
      bootstrap.samples.map((sample) => sample[key]),
      level,
    );
    if (!(interval.high > interval.low)) return null;
    out[key] = [interval.low, interval.high];
  }
  return out;
}

/**
 * Compute-optimal allocation under C = k N D (k = 6 for a transformer's forward and backward pass):
 * N_opt = G (C/k)^a, D_opt = G^-1 (C/k)^b, a = beta/(alpha+beta), b = alpha/(alpha+beta),
 * G = (alpha A / (beta B))^(1/(alpha+beta)) (Hoffmann et al. 2022, eq. 4).
 */
export function computeOptimalAllocation(parameters: JointParameters): { a: number; b: number; G: number } | null {
  const { alpha, beta, A, B } = parameters;
  if (!(alpha > 0 && beta > 0)) return null;
  const G = ((alpha * A) / (beta * B)) ** (1 / (alpha + beta));
  if (!Number.isFinite(G) || G <= 0) return null;
  return { a: beta / (alpha + beta), b: alpha / (alpha + beta), G };
}

export function optimalAllocation(
  allocation: { a: number; b: number; G: number },
  flops: number,
  flopsPerParamToken: number,
): { params: number; data: number } {
  const ratio = flops / flopsPerParamToken;
  return { params: allocation.G * ratio ** allocation.a, data: ratio ** allocation.b / allocation.G };
}
