/**
 * "What differs" between runs, over each run's whole resolved config: the settings (dataset, model,
 * training with its optimizer and schedule, runner, ...) flattened into dotted keys, arrays kept as
 * values. One rule for compare, the experiment page and reports (live or frozen). Pure: the browser
 * runs it on a report's stored configs, the server on the configs it reads.
 */

/** The most keys read from one run's config: a logged run's config is whatever its script sent. */
export const MAX_CONFIG_KEYS = 1_000;
/** Objects nested deeper than this are compared whole, as one value. */
const MAX_DEPTH = 12;

/** One key that differs: its value in each run, in the runs' order; `undefined` where a run lacks the key. */
export type DifferingKey = { key: string; values: unknown[] };
export type SharedKey = { key: string; value: unknown };
export type ConfigDiff = {
  /** Keys whose value is not the same in every run (a key some run lacks counts), sorted. */
  differing: DifferingKey[];
  /** Keys every run has with the same value, sorted. */
  same: SharedKey[];
  /** Whether some run's config had more than MAX_CONFIG_KEYS keys (only its first ones are compared). */
  truncated: boolean;
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON with object keys sorted: two values are the same when their texts are. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isPlainObject(value))
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "undefined";
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

type Flat = { values: Map<string, unknown>; truncated: boolean };

function flattenInto(flat: Flat, prefix: string, value: unknown, depth: number) {
  if (isPlainObject(value) && Object.keys(value).length > 0 && depth < MAX_DEPTH) {
    for (const [key, inner] of Object.entries(value)) flattenInto(flat, `${prefix}.${key}`, inner, depth + 1);
    return;
  }
  if (flat.values.size >= MAX_CONFIG_KEYS) flat.truncated = true;
  else flat.values.set(prefix, value);
}

/**
 * A run's config as dotted keys. `params` holds the values the run's sweep cell set (or a logged
 * run's hyperparameters) by path: a value already at that path in the settings is listed once there;
 * a path the settings lack is listed as itself; a path whose setting disagrees as `params.<path>`.
 */
export function flattenRunConfig(config: unknown): Flat {
  const flat: Flat = { values: new Map(), truncated: false };
  if (!isPlainObject(config)) return flat;
  const { params, ...settings } = config;
  for (const [key, value] of Object.entries(settings)) flattenInto(flat, key, value, 1);
  const swept: Flat = { values: new Map(), truncated: false };
  for (const [key, value] of Object.entries(isPlainObject(params) ? params : {})) flattenInto(swept, key, value, 1);
  for (const [key, value] of swept.values) {
    if (!flat.values.has(key)) flattenInto(flat, key, value, MAX_DEPTH);
    else if (!sameValue(flat.values.get(key), value)) flattenInto(flat, `params.${key}`, value, MAX_DEPTH);
  }
  flat.truncated ||= swept.truncated;
  return flat;
}

/** Every key of the runs' configs, the differing ones apart from those every run shares. */
export function diffConfigs(configs: readonly unknown[]): ConfigDiff {
  const flats = configs.map(flattenRunConfig);
  const keys = [...new Set(flats.flatMap((flat) => [...flat.values.keys()]))].sort();
  const differing: DifferingKey[] = [];
  const same: SharedKey[] = [];
  for (const key of keys) {
    const values = flats.map((flat) => flat.values.get(key));
    const everyRunHasIt = flats.every((flat) => flat.values.has(key));
    if (everyRunHasIt && values.every((value) => sameValue(value, values[0]))) same.push({ key, value: values[0] });
    else differing.push({ key, values });
  }
  return { differing, same, truncated: flats.some((flat) => flat.truncated) };
}
