/**
 * A plotted value as it travels to a chart: a finite number, or which non-finite value was logged.
 * JSON has no NaN or infinities (JSON.stringify writes all three as null, so they could not be told
 * apart); they travel as the strings the logging API takes.
 */
export type NonFiniteText = "NaN" | "Infinity" | "-Infinity";
export type ChartValue = number | NonFiniteText;

export const NON_FINITE_TEXTS: readonly NonFiniteText[] = ["NaN", "Infinity", "-Infinity"];

export function toChartValue(value: number): ChartValue {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
}

/**
 * The number a chart value stands for (NaN and the infinities as such). Null, what old frozen
 * report snapshots hold for any non-finite value, stays null: which one it was is not known.
 */
export function fromChartValue(value: ChartValue | null): number | null {
  if (value === null) return null;
  if (typeof value === "number") return value;
  return value === "NaN" ? Number.NaN : value === "Infinity" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}
