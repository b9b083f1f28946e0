// No maintained npm package offers L-BFGS (the candidates, fmin and optimization-js, have seen no
// release in years), so this is the textbook method, small enough to test against scipy:
// Nocedal & Wright, "Numerical Optimization" (2nd ed.), Algorithm 7.4 (the two-loop recursion for
// the search direction), Algorithm 7.5 (L-BFGS with the initial scaling of eq. 7.20), and a line
// search satisfying the strong Wolfe conditions (Algorithms 3.5 and 3.6, zoom by bisection with a
// safeguarded cubic step).

/** f(x) and its gradient, evaluated together (they share most of the work). */
export type Objective = (x: readonly number[]) => { value: number; gradient: number[] };

export type LbfgsOptions = {
  /** Stored correction pairs (m). */
  memory?: number;
  maxIterations?: number;
  /** Stop when the gradient's largest component falls below this. */
  gradientTolerance?: number;
  /** Stop when an iteration lowers f by less than this fraction of max(|f|, tiny). */
  relativeTolerance?: number;
};

export type LbfgsResult = { x: number[]; value: number; iterations: number; converged: boolean };

const C1 = 1e-4;
const C2 = 0.9;

export function minimizeLbfgs(objective: Objective, start: readonly number[], options: LbfgsOptions = {}): LbfgsResult {
  const memory = options.memory ?? 10;
  const maxIterations = options.maxIterations ?? 500;
  const gradientTolerance = options.gradientTolerance ?? 1e-10;
  const relativeTolerance = options.relativeTolerance ?? 1e-13;
  let x = [...start];
  let { value, gradient } = objective(x);
  if (!Number.isFinite(value) || !gradient.every(Number.isFinite))
    return { x, value: Number.POSITIVE_INFINITY, iterations: 0, converged: false };
  const steps: number[][] = [];
  const changes: number[][] = [];
  const rhos: number[] = [];
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (maxAbs(gradient) <= gradientTolerance) return { x, value, iterations: iteration, converged: true };
    let direction = twoLoopDirection(gradient, steps, changes, rhos);
    let slope = dot(direction, gradient);
    if (!(slope < 0)) {
      // The curvature pairs gave no descent direction: restart from steepest descent.
      steps.length = 0;
      changes.length = 0;
      rhos.length = 0;
      direction = gradient.map((component) => -component);
      slope = dot(direction, gradient);
    }
    const initialStep = steps.length === 0 ? Math.min(1, 1 / maxAbs(gradient)) : 1;
    const found = wolfeLineSearch(objective, x, value, slope, direction, initialStep);
    if (!found) return { x, value, iterations: iteration, converged: false };
    const step = found.x.map((component, index) => component - x[index]!);
    const change = found.gradient.map((component, index) => component - gradient[index]!);
    const curvature = dot(step, change);
    const previous = value;
    x = found.x;
    value = found.value;
    gradient = found.gradient;
    if (curvature > 1e-12 * Math.sqrt(dot(step, step) * dot(change, change))) {
      steps.push(step);
      changes.push(change);
      rhos.push(1 / curvature);
      if (steps.length > memory) {
        steps.shift();
        changes.shift();
        rhos.shift();
      }
    }
    if (previous - value <= relativeTolerance * Math.max(Math.abs(previous), Math.abs(value), 1e-300))
      return { x, value, iterations: iteration + 1, converged: true };
  }
  return { x, value, iterations: maxIterations, converged: false };
}

/** Algorithm 7.4: r = H_k grad, with H_k^0 = gamma I (eq. 7.20); returns -r. */
function twoLoopDirection(
  gradient: readonly number[],
  steps: number[][],
  changes: number[][],
  rhos: number[],
): number[] {
  const q = [...gradient];
  const alphas: number[] = new Array(steps.length);
  for (let index = steps.length - 1; index >= 0; index--) {
    const alpha = rhos[index]! * dot(steps[index]!, q);
    alphas[index] = alpha;
    axpy(-alpha, changes[index]!, q);
  }
  const last = steps.length - 1;
  const gamma = last >= 0 ? dot(steps[last]!, changes[last]!) / dot(changes[last]!, changes[last]!) : 1;
  const r = q.map((component) => component * gamma);
  for (let index = 0; index < steps.length; index++) {
    const beta = rhos[index]! * dot(changes[index]!, r);
    axpy(alphas[index]! - beta, steps[index]!, r);
  }
  return r.map((component) => -component);
}

type Trial = { step: number; value: number; slope: number; x: number[]; gradient: number[] };

/** Algorithm 3.5 (bracketing) and 3.6 (zoom); null when no acceptable step was found. */
function wolfeLineSearch(
  objective: Objective,
  x: readonly number[],
  value0: number,
  slope0: number,
  direction: readonly number[],
  initialStep: number,
): Trial | null {
  const evaluate = (step: number): Trial => {
    const point = x.map((component, index) => component + step * direction[index]!);
    const { value, gradient } = objective(point);
    const finite = Number.isFinite(value) && gradient.every(Number.isFinite);
    return {
      step,
      value: finite ? value : Number.POSITIVE_INFINITY,
      slope: finite ? dot(gradient, direction) : Number.NaN,
      x: point,
      gradient,
    };
  };
  let previous: Trial = { step: 0, value: value0, slope: slope0, x: [...x], gradient: [] };
  let step = initialStep;
  for (let tries = 0; tries < 40; tries++) {
    const trial = evaluate(step);
    if (trial.value > value0 + C1 * step * slope0 || (tries > 0 && trial.value >= previous.value))
      return zoom(evaluate, value0, slope0, previous, trial);
    if (Math.abs(trial.slope) <= -C2 * slope0) return trial;
    if (trial.slope >= 0) return zoom(evaluate, value0, slope0, trial, previous);
    previous = trial;
    step *= 2;
  }
  return previous.step > 0 ? previous : null;
}

function zoom(
  evaluate: (step: number) => Trial,
  value0: number,
  slope0: number,
  low: Trial,
  high: Trial,
): Trial | null {
  let lo = low;
  let hi = high;
  for (let tries = 0; tries < 50; tries++) {
    const step = interpolate(lo, hi);
    const trial = evaluate(step);
    if (trial.value > value0 + C1 * step * slope0 || trial.value >= lo.value) hi = trial;
    else {
      if (Math.abs(trial.slope) <= -C2 * slope0) return trial;
      if (trial.slope * (hi.step - lo.step) >= 0) hi = lo;
      lo = trial;
    }
    if (Math.abs(hi.step - lo.step) <= 1e-16 * Math.max(1, Math.abs(lo.step))) break;
  }
  // The interval collapsed: accept the best point if it lowered f at all (sufficient decrease held).
  return lo.step > 0 && lo.value < value0 ? lo : null;
}

/** The minimizer of the cubic through both ends' values and slopes, kept inside the bracket; else bisection. */
function interpolate(a: Trial, b: Trial): number {
  const middle = (a.step + b.step) / 2;
  if (!Number.isFinite(b.value) || !Number.isFinite(b.slope) || !Number.isFinite(a.slope)) return middle;
  const d1 = a.slope + b.slope - (3 * (a.value - b.value)) / (a.step - b.step);
  const radicand = d1 * d1 - a.slope * b.slope;
  if (!(radicand >= 0)) return middle;
  const d2 = Math.sign(b.step - a.step) * Math.sqrt(radicand);
  const step = b.step - (b.step - a.step) * ((b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2));
  const lowEnd = Math.min(a.step, b.step);
  const width = Math.abs(b.step - a.step);
  if (!Number.isFinite(step) || step <= lowEnd + 0.1 * width || step >= lowEnd + 0.9 * width) return middle;
  return step;
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += a[index]! * b[index]!;
  return sum;
}

function axpy(scale: number, a: readonly number[], into: number[]): void {
  for (let index = 0; index < a.length; index++) into[index] = into[index]! + scale * a[index]!;
}

function maxAbs(values: readonly number[]): number {
  let largest = 0;
  for (const value of values) largest = Math.max(largest, Math.abs(value));
  return largest;
}
