/**
 * How much each swept parameter explains a sweep's metric, in the spirit of W&B's parameter-importance
 * panel: per parameter, the share of the metric's variance that its values explain (omega squared of a
 * one-way analysis of variance: runs grouped by the parameter's value, or by its quantile bin when a
 * random search gives many values), corrected for the number of groups so that a parameter with as
 * many values as runs does not look important by chance; beside it the Spearman rank correlation,
 * whose sign says which way the metric moves as the parameter grows. Marginal, not joint: two
 * parameters swept together share the credit. Too few runs give no numbers at all.
 *
 * Why not a random forest: mljs's ml-random-forest (the maintained JS forest) reports, for
 * regression, ml-cart's post-split squared error as each split's "gain", so its featureImportance
 * credits the residual error (NaN when one parameter explains the metric exactly), and its trees
 * train in O(n^2) per node (127 s for 2,000 runs x 10 parameters on this machine).
 */

export type ParamValue = string | number | boolean | null;

/** A finished run: its swept values and the metric value (final or best) it reached. */
export type ImportanceRun = { params: Record<string, ParamValue>; value: number };

/** numeric: every value a number (ordered); categorical: strings or booleans (no order). */
export type ParameterKind = "numeric" | "categorical";
export type ImportanceParameter = { name: string; kind: ParameterKind };

export type ParameterImportance = {
  name: string;
  kind: ParameterKind;
  /** The share of the metric's variance its values explain (omega squared, 0..1); null when it never varies or every run has its own value. */
  importance: number | null;
  /** Spearman's rank correlation with the metric; null for categorical or constant parameters. */
  correlation: number | null;
  /** How many distinct values the runs have. */
  distinctValues: number;
  /** How many groups the runs were split into: one per value, or quantile bins past MAX_GROUPS values. */
  groups: number;
};

export type ImportanceResult =
  | {
      kind: "ranked";
      method: "variance-explained";
      runCount: number;
      /** Most important first; parameters without an importance last. */
      parameters: ParameterImportance[];
    }
  | { kind: "cannot-say"; runCount: number; reason: string };

/** Fewer finished runs than this and the groups' means are noise: the view says so instead. */
export const MIN_IMPORTANCE_RUNS = 8;
/** A parameter with more values than this (a random search) is grouped into this many quantile bins. */
export const MAX_GROUPS = 10;

/** A value's identity across types: 1 and "1" are different values. */
const valueKey = (value: ParamValue) => `${typeof value}:${String(value)}`;

/** Each value's index among the distinct values, in order of first appearance. */
function levelsOf(values: readonly ParamValue[]): { levels: Map<string, number>; index: number[] } {
  const levels = new Map<string, number>();
  const index = values.map((value) => {
    const key = valueKey(value);
    const known = levels.get(key);
    if (known !== undefined) return known;
    levels.set(key, levels.size);
    return levels.size - 1;
  });
  return { levels, index };
}

/** Average ranks (ties share the mean of their positions), 1-based. */
function ranks(values: number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const result = new Array<number>(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]!.value === order[start]!.value) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let position = start; position <= end; position += 1) result[order[position]!.index] = rank;
    start = end + 1;
  }
  return result;
}

/** Spearman's rho: Pearson's correlation of the ranks; null when either side is constant. */
export function spearman(xs: number[], ys: number[]): number | null {
  if (xs.length !== ys.length || xs.length < 2) return null;
  const rx = ranks(xs);
  const ry = ranks(ys);
  const mean = (rx.length + 1) / 2;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let index = 0; index < rx.length; index += 1) {
    const dx = rx[index]! - mean;
    const dy = ry[index]! - mean;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  if (varianceX === 0 || varianceY === 0) return null;
  return covariance / Math.sqrt(varianceX * varianceY);
}

/** Each run's group for one parameter: its value, or past MAX_GROUPS numeric values its quantile bin. */
function groupsOf(
  runs: readonly ImportanceRun[],
  name: string,
  kind: ParameterKind,
): { group: number[]; count: number } {
  const values = runs.map((run) => run.params[name] ?? null);
  const { levels, index } = levelsOf(values);
  const bins = Math.min(MAX_GROUPS, Math.floor(runs.length / 2));
  if (kind === "categorical" || levels.size <= bins) return { group: index, count: levels.size };
  // Quantile bins over the numbers; ties share the bin of their first position; a missing value is a group of its own.
  const numbers = values
    .map((value, index) => ({ value, index }))
    .filter((entry): entry is { value: number; index: number } => typeof entry.value === "number")
    .sort((a, b) => a.value - b.value);
  const group = values.map(() => bins);
  let firstOfValue = 0;
  numbers.forEach((entry, position) => {
    if (position > 0 && entry.value !== numbers[position - 1]!.value) firstOfValue = position;
    group[entry.index] = Math.floor((firstOfValue * bins) / numbers.length);
  });
  return { group, count: new Set(group).size };
}

/** Omega squared of the metric grouped so; null when no run shares a group (no within-group variance to compare). */
function omegaSquared(values: readonly number[], group: readonly number[]): number | null {
  const n = values.length;
  const mean = values.reduce((sum, value) => sum + value, 0) / n;
  const sums = new Map<number, { sum: number; count: number }>();
  group.forEach((id, index) => {
    const entry = sums.get(id) ?? { sum: 0, count: 0 };
    entry.sum += values[index]!;
    entry.count += 1;
    sums.set(id, entry);
  });
  const k = sums.size;
  if (n - k < 1) return null;
  let total = 0;
  let within = 0;
  values.forEach((value, index) => {
    const own = sums.get(group[index]!)!;
    total += (value - mean) ** 2;
    within += (value - own.sum / own.count) ** 2;
  });
  if (total === 0) return 0;
  const between = total - within;
  const meanWithin = within / (n - k);
  return Math.max(0, (between - (k - 1) * meanWithin) / (total + meanWithin));
}

export function parameterImportance(
  runs: readonly ImportanceRun[],
  parameters: readonly ImportanceParameter[],
): ImportanceResult {
  const finite = runs.filter((run) => Number.isFinite(run.value));
  const runCount = finite.length;
  if (runCount < MIN_IMPORTANCE_RUNS)
    return {
      kind: "cannot-say",
      runCount,
      reason: `${runCount} finished run${runCount === 1 ? "" : "s"} with a metric value; importance needs at least ${MIN_IMPORTANCE_RUNS}`,
    };
  const values = finite.map((run) => run.value);
  const ranked: ParameterImportance[] = parameters.map((parameter) => {
    const distinctValues = levelsOf(finite.map((run) => run.params[parameter.name] ?? null)).levels.size;
    const { group, count } = groupsOf(finite, parameter.name, parameter.kind);
    if (distinctValues < 2) return { ...parameter, importance: null, correlation: null, distinctValues, groups: count };
    const numbered = finite.flatMap((run, index) => {
      const value = run.params[parameter.name];
      return typeof value === "number" ? [{ value, metric: values[index]! }] : [];
    });
    return {
      ...parameter,
      importance: omegaSquared(values, group),
      correlation:
        parameter.kind === "numeric"
          ? spearman(
              numbered.map((entry) => entry.value),
              numbered.map((entry) => entry.metric),
            )
          : null,
      distinctValues,
      groups: count,
    };
  });
  if (ranked.every((parameter) => parameter.distinctValues < 2))
    return { kind: "cannot-say", runCount, reason: `no parameter varies across the ${runCount} runs` };
  ranked.sort((a, b) => (b.importance ?? -1) - (a.importance ?? -1) || a.name.localeCompare(b.name));
  return { kind: "ranked", method: "variance-explained", runCount, parameters: ranked };
}
