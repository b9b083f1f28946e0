import type { NonFiniteText } from "~/server/domain/metrics/chart-value.ts";
import { EMA_START, type EmaState, emaStep, emaValue, smoothingWeight } from "~/server/domain/metrics/ema.ts";

/**
 * A plotted point; y null is a gap: `value` says which non-finite value was logged there (absent in
 * report snapshots frozen before it was kept). `interpolated`: x was not logged at this step (the
 * series query interpolated it); `outside`: the nearest point beyond a zoom window, drawn so the line
 * reaches the window's edge, not counted or exported.
 */
export type XY = { x: number; y: number | null; value?: NonFiniteText; interpolated?: true; outside?: true };

/**
 * TensorBoard's exponential moving average with debiasing (server/domain/metrics/ema.ts): the running
 * average starts at `start` (zero, or the state the series query computed from the points before a
 * zoom window) and is divided by (1 - weight^n) after n finite values, so the first points are not
 * pulled towards zero. Gaps stay gaps and do not advance the average. weight 0 returns the input.
 */
export function smoothEma(points: readonly XY[], weight: number, start: EmaState = EMA_START): XY[] {
  if (!(weight > 0)) return points.map((point) => ({ ...point }));
  const w = smoothingWeight(weight);
  let state = start;
  return points.map((point) => {
    if (point.y === null || !Number.isFinite(point.y)) return { ...point, y: null };
    state = emaStep(state, w, point.y);
    return { ...point, y: emaValue(state, w) };
  });
}

export type BandPoint = { x: number; mean: number | null; min: number | null; max: number | null; count: number };

/** y at x by linear interpolation inside the run's range; null outside it or next to a gap. */
function valueAt(points: readonly XY[], x: number, from: { index: number }): number | null {
  while (from.index < points.length - 1 && points[from.index + 1]!.x <= x) from.index++;
  const left = points[from.index];
  if (!left || left.x > x) return null;
  if (left.x === x) return left.y;
  const right = points[from.index + 1];
  if (!right || left.y === null || right.y === null) return null;
  return left.y + ((right.y - left.y) * (x - left.x)) / (right.x - left.x);
}

const MAX_GRID = 2000;

/**
 * Mean and min-max across a group's runs (seeds of one setting) on a shared x grid. Runs logged
 * at the same x (steps, usually) are read exactly; elsewhere each run is interpolated between
 * its own neighbours, never extrapolated beyond its ends, so a short run does not drag the band.
 */
export function aggregateRuns(runs: readonly (readonly XY[])[]): BandPoint[] {
  const sorted = runs
    .map((points) => points.filter((point) => Number.isFinite(point.x)).toSorted((a, b) => a.x - b.x))
    .filter((points) => points.length > 0);
  if (sorted.length === 0) return [];
  let grid = [...new Set(sorted.flatMap((points) => points.map((point) => point.x)))].sort((a, b) => a - b);
  if (grid.length > MAX_GRID) {
    const stride = grid.length / MAX_GRID;
    grid = Array.from({ length: MAX_GRID }, (_, index) => grid[Math.floor(index * stride)]!).concat(grid.at(-1)!);
  }
  const cursors = sorted.map(() => ({ index: 0 }));
  return grid.map((x) => {
    const values: number[] = [];
    sorted.forEach((points, index) => {
      const value = valueAt(points, x, cursors[index]!);
      if (value !== null && Number.isFinite(value)) values.push(value);
    });
    if (values.length === 0) return { x, mean: null, min: null, max: null, count: 0 };
    return {
      x,
      mean: values.reduce((sum, value) => sum + value, 0) / values.length,
      min: Math.min(...values),
      max: Math.max(...values),
      count: values.length,
    };
  });
}
