/**
 * A run's D and clean time as columns, read from its summary: the built-in trainer's summary
 * (worker/training/train-cell.ts) and an HTTP-tracked run's summary use the same keys.
 *
 * - `tokens`: tokens trained on (language models), `samples`: samples trained on; D in the
 *   compute-optimal sense.
 * - `trainSeconds`: inside optimizer steps; `evalSeconds`: evaluating; `overheadSeconds`: the rest.
 * - `samplesPerSecond`: steady-state training throughput (samples a second of training time).
 *
 * A key that is absent, or not a finite number at or above 0, is left out (its column keeps its
 * value); the summary itself still holds whatever was sent.
 */
export type RunDataColumns = {
  tokens?: number;
  samples?: number;
  trainSeconds?: number;
  evalSeconds?: number;
  overheadSeconds?: number;
  samplesPerSecond?: number;
};

export const RUN_DATA_KEYS = [
  "tokens",
  "samples",
  "trainSeconds",
  "evalSeconds",
  "overheadSeconds",
  "samplesPerSecond",
] as const satisfies readonly (keyof RunDataColumns)[];

export function dataColumnsFromSummary(summary: Record<string, unknown> | null | undefined): RunDataColumns {
  const columns: RunDataColumns = {};
  if (!summary) return columns;
  for (const key of RUN_DATA_KEYS) {
    const value = summary[key];
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) columns[key] = value;
  }
  return columns;
}
