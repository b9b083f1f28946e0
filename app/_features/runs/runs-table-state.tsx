// No "use client": the experiment page (a server component) builds the same query input from the
// URL to prefetch the first page that the client table then reads from the cache.
import type { inferRouterInputs } from "@trpc/server";
import type { AppRouter } from "~/server/api/root.ts";
import { RUN_STATUSES, type RunStatusName } from "../../_ui/status.ts";

export type RunsTableListInput = inferRouterInputs<AppRouter>["runsTable"]["list"];
type SortInput = NonNullable<RunsTableListInput["sort"]>;
export type SortColumn = SortInput["column"];
export type TableSort = { column: SortColumn; param?: string; direction: "asc" | "desc" };
export type ParamCondition = { min?: number; max?: number; equals?: string | number | boolean };

export const TABLE_PAGE_SIZE = 100;
const SORT_COLUMNS: readonly SortColumn[] = [
  "name",
  "status",
  "createdAt",
  "updatedAt",
  "paramCount",
  "totalFlops",
  "wallClockSeconds",
  "finalMetric",
  "bestMetric",
];

type Params = { get(key: string): string | null };

/** `sort=paramCount&dir=desc`, or `sort=param:model.width`; a sweep reads best in creation order. */
export function readSort(params: Params): TableSort {
  const text = params.get("sort") ?? "";
  const direction = params.get("dir") === "desc" ? "desc" : "asc";
  if (text.startsWith("param:") && text.length > 6) return { column: "param", param: text.slice(6), direction };
  const column = SORT_COLUMNS.find((candidate) => candidate === text) ?? "createdAt";
  return { column, direction };
}

export function sortToParams(sort: TableSort): { sort: string | null; dir: string | null } {
  const isDefault = sort.column === "createdAt" && sort.direction === "asc";
  return {
    sort: isDefault ? null : sort.column === "param" ? `param:${sort.param}` : sort.column,
    dir: sort.direction === "desc" ? "desc" : null,
  };
}

function parseScalar(text: string): string | number | boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  const number = Number(text);
  return text.trim() !== "" && Number.isFinite(number) ? number : text;
}

/** `pf=model.width>=16;model.width<=64;training.optimizer.kind=adam` -> one condition per parameter. */
export function parseParamFilters(text: string | null): Record<string, ParamCondition> {
  // A Map, not an object: a parameter named `__proto__` in the URL must not reach Object.prototype.
  const conditions = new Map<string, ParamCondition>();
  for (const part of (text ?? "").split(";")) {
    const match = /^(.+?)(>=|<=|=)(.*)$/.exec(part.trim());
    if (!match) continue;
    const [, name, op, value] = match;
    if (name === undefined || op === undefined || value === undefined) continue;
    const condition = conditions.get(name) ?? {};
    conditions.set(name, condition);
    if (op === "=") condition.equals = parseScalar(value);
    else {
      const number = Number(value);
      if (!Number.isFinite(number) || value.trim() === "") continue;
      if (op === ">=") condition.min = number;
      else condition.max = number;
    }
  }
  return Object.fromEntries(conditions);
}

export function formatParamFilters(conditions: Record<string, ParamCondition>): string | null {
  const parts: string[] = [];
  for (const [name, condition] of Object.entries(conditions)) {
    if (condition.min !== undefined) parts.push(`${name}>=${condition.min}`);
    if (condition.max !== undefined) parts.push(`${name}<=${condition.max}`);
    if (condition.equals !== undefined) parts.push(`${name}=${String(condition.equals)}`);
  }
  return parts.length ? parts.join(";") : null;
}

export function readStatusFilter(params: Params): RunStatusName[] {
  const wanted = (params.get("status") ?? "").split(",");
  return RUN_STATUSES.filter((status) => wanted.includes(status));
}

/** The runs table's query for these URL params, without the cursor (the infinite query adds it). */
export function runsTableInput(
  experimentIds: string[],
  params: Params,
  defaults: { metric: string; metricGoal?: "min" | "max" },
): Omit<RunsTableListInput, "cursor"> {
  const status = readStatusFilter(params);
  const search = (params.get("q") ?? "").trim();
  const paramFilters = parseParamFilters(params.get("pf"));
  const metric = params.get("tmetric") || defaults.metric;
  return {
    experimentIds,
    metric,
    ...(metric === defaults.metric && defaults.metricGoal ? { metricGoal: defaults.metricGoal } : {}),
    sort: readSort(params),
    filter: {
      ...(status.length ? { status } : {}),
      ...(search ? { search } : {}),
      ...(Object.keys(paramFilters).length ? { params: paramFilters } : {}),
    },
    limit: TABLE_PAGE_SIZE,
  };
}

/** The most run ids an outside filter may pin (the runs table's filter.runIds bound). */
export const MAX_FILTER_RUN_IDS = 500;

/**
 * The table's query narrowed to the runs another view picked (the hyperparameter view's brushes), on
 * top of the URL's filters; null leaves it as it is. Past MAX_FILTER_RUN_IDS runs the first are kept.
 */
export function withRunFilter(
  input: Omit<RunsTableListInput, "cursor">,
  runIds: readonly string[] | null,
): Omit<RunsTableListInput, "cursor"> {
  if (runIds === null) return input;
  return { ...input, filter: { ...input.filter, runIds: runIds.slice(0, MAX_FILTER_RUN_IDS) } };
}

/** Reads a server component's searchParams like URLSearchParams. */
export function paramsFromRecord(record: Record<string, string | string[] | undefined>): Params {
  return {
    get: (key: string) => {
      const value = record[key];
      return (Array.isArray(value) ? value[0] : value) ?? null;
    },
  };
}
