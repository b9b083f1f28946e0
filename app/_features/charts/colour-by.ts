import { chartTheme, DISTINCT_SERIES_COLORS, sequentialColor, seriesColor } from "./chart-theme.ts";
import { formatParam } from "./format.ts";

/**
 * Lines coloured by a run parameter's value instead of one palette colour each: past
 * DISTINCT_SERIES_COLORS lines the palette can no longer keep every line apart, but a sweep's lines
 * read well by their setting, all seeds of one width in one colour. A numeric parameter maps onto a
 * sequential scale (log-spaced when its values span more than LOG_SPAN), a string or boolean one onto
 * the palette, a colour per value. Seeds are never offered: they are what the colour groups.
 */

/** A numeric parameter whose values span more than this ratio is spaced on a log scale (as parallel coordinates do). */
export const LOG_SPAN = 20;

type ParamRun = { params: Record<string, unknown> };
type Scalar = string | number | boolean;

export type ColourKeyValue = {
  value: Scalar;
  label: string;
  color: string /** 0..1 along the scale (numeric only). */;
  position?: number;
};

/** What the legend's colour key shows. */
export type ColourKey =
  | {
      kind: "numeric";
      param: string;
      scale: "log" | "linear";
      min: number;
      max: number;
      /** CSS colours from min to max, for a gradient. */
      gradient: string[];
      values: ColourKeyValue[];
      /** Runs without a value of the parameter (drawn grey). */
      missing: number;
    }
  | { kind: "categorical"; param: string; values: ColourKeyValue[]; missing: number };

export type RunColouring = { key: ColourKey; colorOf: (params: Record<string, unknown>) => string };

/** `seed`, `training.seed`, `data.seed`: the parameters that only repeat a setting. */
export function isSeedParam(name: string): boolean {
  return /(^|\.)seed$/i.test(name);
}

const isScalar = (value: unknown): value is Scalar =>
  (typeof value === "number" && Number.isFinite(value)) || typeof value === "string" || typeof value === "boolean";

/** The parameters a chart of these runs can be coloured by: scalar ones some run has, seeds left out. */
export function colourByOptions(paramKeys: readonly string[], runs: readonly ParamRun[]): string[] {
  return paramKeys.filter((name) => !isSeedParam(name) && runs.some((run) => isScalar(run.params[name])));
}

/**
 * The parameter a busy chart is coloured by unless the reader chooses: past DISTINCT_SERIES_COLORS
 * lines, the numeric non-seed parameter with the most distinct values (a width over seeds), ties by
 * name. Null when the palette still suffices or no numeric parameter varies.
 */
export function defaultColourParam(paramKeys: readonly string[], runs: readonly ParamRun[]): string | null {
  if (runs.length <= DISTINCT_SERIES_COLORS) return null;
  let best: { name: string; distinct: number } | null = null;
  for (const name of [...paramKeys].sort()) {
    if (isSeedParam(name)) continue;
    const values = runs.map((run) => run.params[name]).filter((value) => value !== undefined && value !== null);
    if (!values.every((value) => typeof value === "number" && Number.isFinite(value))) continue;
    const distinct = new Set(values).size;
    if (distinct >= 2 && (best === null || distinct > best.distinct)) best = { name, distinct };
  }
  return best?.name ?? null;
}

const valueId = (value: Scalar) => `${typeof value}:${String(value)}`;

/** The colouring of these runs by one parameter; null when no run has a value of it. */
export function colourByParam(param: string, runs: readonly ParamRun[], dark: boolean): RunColouring | null {
  const values = runs.map((run) => run.params[param]).filter(isScalar);
  if (values.length === 0) return null;
  const missingColor = chartTheme(dark).muted;
  const missing = runs.length - values.length;

  if (values.every((value) => typeof value === "number")) {
    const numbers = [...new Set(values as number[])].sort((a, b) => a - b);
    const min = numbers[0]!;
    const max = numbers[numbers.length - 1]!;
    const log = min > 0 && max / min > LOG_SPAN;
    const transform = log ? Math.log : (value: number) => value;
    const position = (value: number) =>
      max === min ? 0.5 : (transform(value) - transform(min)) / (transform(max) - transform(min));
    const colorAt = (value: number) => sequentialColor(position(value), dark);
    return {
      key: {
        kind: "numeric",
        param,
        scale: log ? "log" : "linear",
        min,
        max,
        gradient: [0, 0.25, 0.5, 0.75, 1].map((share) => sequentialColor(share, dark)),
        values: numbers.map((value) => ({
          value,
          label: formatParam(value),
          color: colorAt(value),
          position: position(value),
        })),
        missing,
      },
      colorOf: (params) => {
        const value = params[param];
        return typeof value === "number" && Number.isFinite(value) ? colorAt(value) : missingColor;
      },
    };
  }

  // Strings and booleans (or a mix): a palette colour per value, in the order group-by sorts them.
  const distinct = [...new Map(values.map((value) => [valueId(value), value])).values()].sort((a, b) =>
    String(a).localeCompare(String(b), undefined, { numeric: true }),
  );
  const colors = new Map(distinct.map((value, index) => [valueId(value), seriesColor(index, dark)]));
  return {
    key: {
      kind: "categorical",
      param,
      values: distinct.map((value) => ({ value, label: formatParam(value), color: colors.get(valueId(value))! })),
      missing,
    },
    colorOf: (params) => {
      const value = params[param];
      return isScalar(value) ? (colors.get(valueId(value)) ?? missingColor) : missingColor;
    },
  };
}
