import { isPlainObject } from "./config-paths.ts";

const LEAF_KEYS = ["values", "range", "uniform", "loguniform", "int", "choice"] as const;

export type ScalarValue = number | string | boolean;
export type ParameterSource =
  | { kind: "list"; values: ScalarValue[] }
  | { kind: "range"; from: number; to: number; steps?: number | undefined; step?: number | undefined; log: boolean }
  | { kind: "uniform" | "loguniform" | "int"; low: number; high: number }
  | { kind: "choice"; values: ScalarValue[] };

/** One swept setting: the config path it sets and where it was written in the spec file. */
export type SweepParameter = {
  path: string;
  specPath: (string | number)[];
  source: ParameterSource;
  /** Where the list of values sits in the file (for pointing at one bad value), when it is a list. */
  listPath?: (string | number)[];
};

export function isParameterLeaf(value: unknown): boolean {
  return Array.isArray(value) || (isPlainObject(value) && LEAF_KEYS.some((key) => key in value));
}

function toSource(value: unknown): ParameterSource {
  if (Array.isArray(value)) return { kind: "list", values: value as ScalarValue[] };
  const leaf = value as Record<string, unknown>;
  if ("values" in leaf) return { kind: "list", values: leaf.values as ScalarValue[] };
  if ("choice" in leaf) return { kind: "choice", values: leaf.choice as ScalarValue[] };
  if ("range" in leaf) {
    const range = leaf.range as { from: number; to: number; steps?: number; step?: number; log?: boolean };
    return {
      kind: "range",
      from: range.from,
      to: range.to,
      steps: range.steps,
      step: range.step,
      log: range.log ?? false,
    };
  }
  const kind = (["uniform", "loguniform", "int"] as const).find((key) => key in leaf) ?? "uniform";
  const [low, high] = leaf[kind] as [number, number];
  return { kind, low, high };
}

/** Flattens `parameters` (dotted keys and nested groups alike) into one list of swept settings. */
export function flattenParameters(tree: unknown, specPath: (string | number)[], prefix = ""): SweepParameter[] {
  if (!isPlainObject(tree)) return [];
  const out: SweepParameter[] = [];
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isParameterLeaf(value)) {
      const at = [...specPath, key];
      const listPath = Array.isArray(value)
        ? at
        : isPlainObject(value) && "values" in value
          ? [...at, "values"]
          : isPlainObject(value) && "choice" in value
            ? [...at, "choice"]
            : undefined;
      out.push({ path, specPath: at, source: toSource(value), ...(listPath ? { listPath } : {}) });
    } else out.push(...flattenParameters(value, [...specPath, key], path));
  }
  return out;
}

/** The grid values of a list or range; null for random-only distributions. */
export function gridValues(source: ParameterSource): ScalarValue[] | null {
  switch (source.kind) {
    case "list":
    case "choice":
      return source.values;
    case "range": {
      const { from, to, log } = source;
      if (source.steps !== undefined) {
        const count = source.steps;
        return Array.from({ length: count }, (_, index) => {
          const t = index / (count - 1);
          return log ? Math.exp(Math.log(from) + t * (Math.log(to) - Math.log(from))) : from + t * (to - from);
        });
      }
      const step = source.step ?? 1;
      const values: number[] = [];
      if (log) for (let value = from; value <= to * (1 + 1e-9); value *= step) values.push(value);
      else
        for (let index = 0, count = Math.floor((to - from) / step + 1e-9) + 1; index < count; index++)
          values.push(Number((from + index * step).toPrecision(12)));
      return values;
    }
    default:
      return null;
  }
}

/** The value used to check a spec before expanding it: the first value, or the low end of a distribution. */
export function firstValue(source: ParameterSource): ScalarValue | undefined {
  switch (source.kind) {
    case "list":
    case "choice":
      return source.values[0];
    case "range":
      return source.from;
    default:
      return source.low;
  }
}
