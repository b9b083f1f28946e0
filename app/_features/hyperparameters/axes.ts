import { formatMetric, formatParam } from "../charts/format.ts";

/**
 * The parallel-coordinates axes of a sweep: one per swept parameter and one for the metric. A numeric
 * axis is logarithmic when its values are positive and span more than LOG_SPAN (widths, learning
 * rates), linear otherwise; strings and booleans get a categorical axis, one evenly spaced point per
 * value. Positions run from 0 (bottom) to 1 (top); a brush is a range of positions on one axis.
 */

export type AxisValue = string | number | boolean | null;
export type AxisScale = "log" | "linear" | "categorical";

export type Axis = {
  /** "param:<name>" or "metric". */
  key: string;
  label: string;
  scale: AxisScale;
  /** Where a value sits, 0 (bottom) .. 1 (top); null for a run without a value here. */
  position: (value: AxisValue) => number | null;
  ticks: { label: string; position: number }[];
  /** Numeric axes: the value at a position, position's inverse (a brush's edges as values, for the URL). */
  valueAt?: (position: number) => number;
  /** Categorical axes: each value and where it sits, bottom to top. */
  categories?: { value: string | number | boolean; position: number }[];
};

/** A numeric axis whose values span more than this ratio is drawn on a log scale. */
export const LOG_SPAN = 20;
const MAX_VALUE_TICKS = 8;

export type SweepPoint = { id: string; params: Record<string, AxisValue>; value: number | null };

const valueKey = (value: AxisValue) => `${typeof value}:${String(value)}`;

export function numericAxis(key: string, label: string, values: number[], format: (value: number) => string): Axis {
  const finite = values.filter(Number.isFinite);
  const min = finite.length ? Math.min(...finite) : 0;
  const max = finite.length ? Math.max(...finite) : 1;
  const log = min > 0 && max / min > LOG_SPAN;
  const transform = log ? Math.log10 : (value: number) => value;
  const low = transform(min);
  const high = transform(max);
  const position = (value: AxisValue) => {
    if (typeof value !== "number" || !Number.isFinite(value) || (log && value <= 0)) return null;
    return high === low ? 0.5 : (transform(value) - low) / (high - low);
  };
  const distinct = [...new Set(finite)].sort((a, b) => a - b);
  let tickValues: number[];
  if (distinct.length <= MAX_VALUE_TICKS) tickValues = distinct;
  else if (log) {
    // Each decade inside the range, and the ends.
    tickValues = [min, max];
    for (let exponent = Math.ceil(low); exponent <= Math.floor(high); exponent += 1) tickValues.push(10 ** exponent);
  } else tickValues = [0, 0.25, 0.5, 0.75, 1].map((share) => min + share * (max - min));
  const ticks = [...new Set(tickValues)]
    .sort((a, b) => a - b)
    .map((value) => ({ label: format(value), position: position(value)! }))
    // Drop a tick that would print over its neighbour (the ends win over decades).
    .filter(
      (tick, index, all) => index === 0 || tick.position - all[index - 1]!.position > 0.06 || index === all.length - 1,
    );
  const valueAt = (share: number) => {
    const at = low + share * (high - low);
    return log ? 10 ** at : at;
  };
  return { key, label, scale: log ? "log" : "linear", position, ticks, valueAt };
}

export function categoricalAxis(key: string, label: string, values: AxisValue[]): Axis {
  const categories = [
    ...new Map(
      values
        .filter((value): value is string | number | boolean => value !== null)
        .map((value) => [valueKey(value), value]),
    ).values(),
  ].sort((a, b) => String(a).localeCompare(String(b), undefined, { numeric: true }));
  const spot = new Map(
    categories.map((value, index) => [
      valueKey(value),
      categories.length === 1 ? 0.5 : index / (categories.length - 1),
    ]),
  );
  return {
    key,
    label,
    scale: "categorical",
    position: (value) => (value === null ? null : (spot.get(valueKey(value)) ?? null)),
    ticks: categories.map((value) => ({ label: formatParam(value), position: spot.get(valueKey(value))! })),
    categories: categories.map((value) => ({ value, position: spot.get(valueKey(value))! })),
  };
}

/** A parameter's tick: up to four significant digits, exponent form (1e-5, 2.5e-3) when tiny or huge. */
export function formatAxisValue(value: number): string {
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e6))
    return value
      .toExponential(2)
      .replace(/\.?0+e/, "e")
      .replace("e+", "e");
  return String(Number(value.toPrecision(4)));
}

/** One axis per parameter (numeric or categorical as the server typed it), then the metric's. */
export function buildAxes(
  parameters: { name: string; kind: "numeric" | "categorical" }[],
  points: SweepPoint[],
  metricLabel: string,
): Axis[] {
  const axes = parameters.map((parameter) => {
    const values = points.map((point) => point.params[parameter.name] ?? null);
    return parameter.kind === "numeric"
      ? numericAxis(
          `param:${parameter.name}`,
          parameter.name,
          values.filter((value): value is number => typeof value === "number"),
          formatAxisValue,
        )
      : categoricalAxis(`param:${parameter.name}`, parameter.name, values);
  });
  const metricValues = points.flatMap((point) => (point.value === null ? [] : [point.value]));
  axes.push(numericAxis("metric", metricLabel, metricValues, (value) => formatMetric(value, 3)));
  return axes;
}

/** A run's value on an axis. */
export function valueOn(axis: Axis, point: SweepPoint): AxisValue {
  return axis.key === "metric" ? point.value : (point.params[axis.key.slice("param:".length)] ?? null);
}

/** A brushed range of positions (0 bottom .. 1 top), low <= high. */
export type Brush = { low: number; high: number };

/** Tolerance for a point drawn exactly on a brush's edge (float rounding of the position). */
const EDGE = 1e-9;

/** The ids of the runs inside every brushed range (a run without a value on a brushed axis is outside). */
export function runsInBrushes(points: SweepPoint[], axes: Axis[], brushes: ReadonlyMap<string, Brush>): string[] {
  const brushed = axes.filter((axis) => brushes.has(axis.key));
  return points
    .filter((point) =>
      brushed.every((axis) => {
        const brush = brushes.get(axis.key)!;
        const position = axis.position(valueOn(axis, point));
        return position !== null && position >= brush.low - EDGE && position <= brush.high + EDGE;
      }),
    )
    .map((point) => point.id);
}
