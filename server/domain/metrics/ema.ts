/**
 * TensorBoard's exponential moving average with debiasing, shared by the chart (which smooths the
 * points it draws) and the series query (which computes the average's state at a zoom window's start
 * from the points logged before it, so the zoomed curve continues the unzoomed one).
 *
 * The running average starts at 0; after n finite values it is divided by (1 - weight^n), so the
 * first points are not pulled towards zero. NaN and infinities are gaps: they do not advance it.
 */

/** Weights above this are capped: 0.999 already averages over thousands of points. */
export const MAX_SMOOTHING = 0.999;

/** The average's state before a point: the running (biased) value and how many finite values it holds. */
export type EmaState = { value: number; count: number };

export const EMA_START: EmaState = { value: 0, count: 0 };

export function smoothingWeight(weight: number): number {
  return Math.min(weight, MAX_SMOOTHING);
}

/** The state after one more finite value (weight already capped). */
export function emaStep(state: EmaState, weight: number, y: number): EmaState {
  return { value: state.value * weight + (1 - weight) * y, count: state.count + 1 };
}

/** The smoothed value a state shows: its running value debiased. */
export function emaValue(state: EmaState, weight: number): number {
  return state.value / (1 - weight ** state.count);
}

/** Relative weight below which older points no longer change the average (in float8 terms). */
const NEGLIGIBLE = 1e-12;

/**
 * How many of the latest finite values decide the average: the values older than the last K weigh
 * weight^K in all (each (1 - w) w^j, j >= K), under NEGLIGIBLE, so leaving them out changes the
 * average by less than 1e-12 of their size. 27,617 at the cap of 0.999, 2,749 at 0.99.
 */
export function emaHorizon(weight: number): number {
  const capped = smoothingWeight(weight);
  if (!(capped > 0)) return 0;
  return Math.ceil(Math.log(NEGLIGIBLE) / Math.log(capped));
}
