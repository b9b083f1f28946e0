import { z } from "zod";
import type { Db } from "../../db.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { RunStatus } from "../../generated/prisma/enums.ts";
import { AppError } from "../app-error.ts";
import { resolveSelectionMetric } from "../project/project-metric.ts";

/**
 * The runs table of one or more experiments: sorted, filtered and keyset-paginated in SQL so that
 * 10,000 runs cost about what 100 do. Each experiment is read by its own LATERAL subquery limited to
 * one page, so a sort an index serves reads one page per experiment: createdAt through Run
 * (experimentId, createdAt, id), the final and best metric through MetricSeries (experimentId, key,
 * lastValue | minValue | maxValue, runId), a swept parameter through RunParam (experimentId, key,
 * numberValue | textValue, runId); both copies are kept by triggers (see their migration). Other
 * sorts read the experiment's runs once. The final metric is the chosen key's MetricSeries row
 * (lastValue; bestMetric its minValue or maxValue), found through the unique (runId, key) index.
 */

export const RUNS_TABLE_COLUMNS = [
  "name",
  "status",
  "createdAt",
  "updatedAt",
  "paramCount",
  "totalFlops",
  "wallClockSeconds",
  "finalMetric",
  "bestMetric",
  "param",
] as const;
export type RunsTableColumn = (typeof RUNS_TABLE_COLUMNS)[number];

const ZScalar = z.union([z.string(), z.number(), z.boolean()]);

export const ZRunsTableFilter = z.object({
  status: z
    .array(z.enum(Object.values(RunStatus) as [RunStatus, ...RunStatus[]]))
    .max(Object.values(RunStatus).length)
    .optional(),
  /** Matched, case-insensitively, inside the name, the notes and the tags. */
  search: z.string().trim().max(200).optional(),
  /** Only these runs (a run page finds its row, a shared link pins a selection). */
  runIds: z.array(z.string().min(1)).max(500).optional(),
  /** Swept parameters by path ("model.width"): a numeric range, or one exact value. */
  params: z
    .record(
      z.string().min(1).max(200),
      z.object({ min: z.number().optional(), max: z.number().optional(), equals: ZScalar.optional() }),
    )
    .optional(),
});
export type RunsTableFilter = z.infer<typeof ZRunsTableFilter>;

const ZMetricChoice = {
  /**
   * The key whose final value fills finalMetric and bestMetric, e.g. "val/loss"; when absent, the
   * first experiment's metric (its spec's, else its project's, else val/loss).
   */
  metric: z.string().min(1).max(200).optional(),
  /** Whether smaller (losses) or larger (accuracies) is better; the resolved metric's goal, else guessed from the key. */
  metricGoal: z.enum(["min", "max"]).optional(),
};

export const ZRunsTableInput = z
  .object({
    /** The experiments whose runs to list; optional when filter.runIds names the runs (compare). */
    experimentIds: z.array(z.string().min(1)).min(1).max(20).optional(),
    ...ZMetricChoice,
    sort: z
      .object({
        column: z.enum(RUNS_TABLE_COLUMNS),
        /** The parameter path when column is "param". */
        param: z.string().min(1).max(200).optional(),
        direction: z.enum(["asc", "desc"]).default("asc"),
      })
      .refine((sort) => sort.column !== "param" || sort.param !== undefined, {
        message: "name the parameter to sort by",
        path: ["param"],
      })
      .default({ column: "createdAt", direction: "desc" }),
    filter: ZRunsTableFilter.default({}),
    cursor: z.string().min(1).nullish(),
    limit: z.number().int().min(1).max(500).default(100),
  })
  .refine((input) => (input.experimentIds?.length ?? 0) > 0 || (input.filter.runIds?.length ?? 0) > 0, {
    message: "name the experiments, or the runs in filter.runIds",
    path: ["experimentIds"],
  });
export type RunsTableInput = z.input<typeof ZRunsTableInput>;

export const ZRunsTableGroupsInput = z.object({
  experimentIds: z.array(z.string().min(1)).min(1).max(20),
  groupBy: z.string().min(1).max(200),
  ...ZMetricChoice,
  filter: ZRunsTableFilter.default({}),
});
export type RunsTableGroupsInput = z.input<typeof ZRunsTableGroupsInput>;

export type ParamValue = string | number | boolean | null;

export type RunsTableRow = {
  id: string;
  name: string;
  status: RunStatus;
  params: Record<string, ParamValue>;
  paramCount: number | null;
  totalFlops: number | null;
  wallClockSeconds: number | null;
  backend: string | null;
  workerName: string | null;
  tags: string[];
  notes: string | null;
  /** Why a run failed, diverged or crashed (its first 300 characters); null otherwise. */
  error: string | null;
  finalMetric: number | null;
  bestMetric: number | null;
  experimentId: string;
  createdAt: Date;
  updatedAt: Date;
};

/** The experiments these runs belong to (a compare view may span several). */
async function experimentsOfRuns(db: Db, runIds: readonly string[]): Promise<string[]> {
  const rows = await db.run.findMany({
    where: { id: { in: [...new Set(runIds)] } },
    select: { experimentId: true },
    distinct: ["experimentId"],
  });
  return rows.map((row) => row.experimentId);
}

/** Accuracy-like keys are better high; everything else (losses, perplexities, errors) low. */
export function guessMetricGoal(metric: string): "min" | "max" {
  return /acc|accuracy|auc|f1|precision|recall|score|reward|bleu|rouge/i.test(metric) ? "max" : "min";
}

const param = (name: string) => Prisma.sql`(r.config -> 'params' -> ${name}::text)`;
const paramNumber = (name: string) =>
  Prisma.sql`CASE WHEN jsonb_typeof(${param(name)}) = 'number' THEN (r.config -> 'params' ->> ${name}::text)::float8 END`;

function filterSql(filter: RunsTableFilter): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [];
  if (filter.status && filter.status.length > 0)
    conditions.push(Prisma.sql`r.status = ANY(${filter.status}::"RunStatus"[])`);
  if (filter.runIds) conditions.push(Prisma.sql`r.id = ANY(${filter.runIds}::text[])`);
  if (filter.search) {
    const pattern = `%${filter.search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    conditions.push(
      Prisma.sql`(r.name ILIKE ${pattern} OR r.notes ILIKE ${pattern} OR EXISTS (SELECT 1 FROM unnest(r.tags) AS tag WHERE tag ILIKE ${pattern}))`,
    );
  }
  for (const [name, range] of Object.entries(filter.params ?? {})) {
    if (range.min !== undefined) conditions.push(Prisma.sql`${paramNumber(name)} >= ${range.min}::float8`);
    if (range.max !== undefined) conditions.push(Prisma.sql`${paramNumber(name)} <= ${range.max}::float8`);
    if (range.equals !== undefined)
      conditions.push(Prisma.sql`${param(name)} = ${JSON.stringify(range.equals)}::jsonb`);
  }
  return conditions;
}

/**
 * Run r's series of the metric as ms, probed through the unique (runId, key) index; LIMIT 1 keeps the
 * planner from hashing every experiment's series instead, so the cost follows the runs read.
 */
const seriesProbe = (metric: string) =>
  Prisma.sql`LEFT JOIN LATERAL (SELECT s."lastValue", s."minValue", s."maxValue" FROM "MetricSeries" s WHERE s."runId" = r.id AND s.key = ${metric} LIMIT 1) ms ON true`;

/**
 * expression: the sort value read from a run's own row (r) and its series (ms). indexed, for sorts an
 * index serves: where the runs that have a value are read from in index order (scope ties them to
 * experiment e), and the value and run id as that index holds them.
 */
type SortSpec = {
  expression: Prisma.Sql;
  type: Prisma.Sql;
  nullable: boolean;
  indexed?: { from: Prisma.Sql; scope: Prisma.Sql; value: Prisma.Sql; id: Prisma.Sql };
};

async function sortSpec(
  db: Db,
  input: z.infer<typeof ZRunsTableInput> & { metric: string },
  experimentIds: string[],
  goal: "min" | "max",
): Promise<SortSpec> {
  const plain = (column: string, type: string, nullable: boolean): SortSpec => ({
    expression: Prisma.raw(`r."${column}"`),
    type: Prisma.raw(type),
    nullable,
  });
  switch (input.sort.column) {
    case "name":
      return plain("name", "text", false);
    case "status":
      return plain("status", `"RunStatus"`, false);
    case "createdAt":
    case "updatedAt":
      return plain(input.sort.column, "timestamp(3)", false);
    case "paramCount":
      return plain("paramCount", "bigint", true);
    case "totalFlops":
    case "wallClockSeconds":
      return plain(input.sort.column, "float8", true);
    case "finalMetric":
    case "bestMetric": {
      const column = Prisma.raw(
        input.sort.column === "finalMetric" ? `"lastValue"` : goal === "max" ? `"maxValue"` : `"minValue"`,
      );
      const value = Prisma.sql`ms.${column}`;
      const from = Prisma.sql`"MetricSeries" ms JOIN "Run" r ON r.id = ms."runId"`;
      const scope = Prisma.sql`ms."experimentId" = e.id AND ms.key = ${input.metric}`;
      return {
        expression: value,
        type: Prisma.raw("float8"),
        nullable: true,
        indexed: { from, scope, value, id: Prisma.sql`ms."runId"` },
      };
    }
    case "param": {
      const name = input.sort.param!;
      // Numeric order when every run that has the parameter has a number there; text order otherwise.
      const shapes = await paramShapes(db, experimentIds);
      const textual = shapes.some((shape) => shape.kinds.get(name) === "text");
      const from = Prisma.sql`"RunParam" p JOIN "Run" r ON r.id = p."runId" ${seriesProbe(input.metric)}`;
      const scope = Prisma.sql`p."experimentId" = e.id AND p.key = ${name}`;
      const id = Prisma.sql`p."runId"`;
      return textual
        ? {
            expression: Prisma.sql`(r.config -> 'params' ->> ${name}::text)`,
            type: Prisma.raw("text"),
            nullable: true,
            indexed: { from, scope, value: Prisma.sql`p."textValue"`, id },
          }
        : {
            expression: paramNumber(name),
            type: Prisma.raw("float8"),
            nullable: true,
            indexed: { from, scope, value: Prisma.sql`p."numberValue"`, id },
          };
    }
  }
}

type Cursor = { value: string | null; id: string };

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.value, cursor.id])).toString("base64url");
}

const INVALID_CURSOR = "invalid cursor: it is not one this table gave out for this sort";
const MAX_CURSOR_CHARS = 20_000;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?$/;
const BIGINT_MAX = 9_223_372_036_854_775_807n;

/** Whether PostgreSQL can read the cursor's value as the sort's type (else the query would fail, a 500). */
function fitsSortType(value: string, type: string): boolean {
  switch (type) {
    case "text":
      return true;
    case `"RunStatus"`:
      return (Object.values(RunStatus) as string[]).includes(value);
    case "bigint":
      return /^-?\d{1,19}$/.test(value) && BigInt(value) <= BIGINT_MAX && BigInt(value) >= -BIGINT_MAX - 1n;
    case "float8": {
      if (value === "NaN" || value === "Infinity" || value === "-Infinity") return true;
      const number = Number(value);
      // 1e400 and 1e-400 are out of range for float8; PostgreSQL refuses both.
      return FLOAT.test(value) && Number.isFinite(number) && (number !== 0 || !/[1-9]/.test(value.split(/[eE]/)[0]!));
    }
    case "timestamp(3)": {
      const parts = TIMESTAMP.exec(value);
      if (!parts) return false;
      const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const date = new Date(Date.UTC(year, month - 1, day));
      return (
        year >= 1 &&
        date.getUTCMonth() === month - 1 &&
        date.getUTCDate() === day &&
        hour < 24 &&
        minute < 60 &&
        second < 60
      );
    }
    default:
      return false;
  }
}

/**
 * A cursor from the client, checked before it reaches SQL: a forged or stale one (another sort's) is a
 * 400 "invalid cursor", never a database error. Text PostgreSQL cannot hold (NUL) is refused too.
 */
function decodeCursor(text: string, sortType: Prisma.Sql): Cursor {
  let parsed: [string | null, string];
  try {
    if (text.length > MAX_CURSOR_CHARS) throw new Error("too long");
    parsed = z
      .tuple([z.string().nullable(), z.string().min(1).max(200)])
      .parse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
  } catch {
    throw new AppError("INVALID_INPUT", INVALID_CURSOR);
  }
  const [value, id] = parsed;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what this looks for (PostgreSQL cannot store it)
  const unstorable = /\u0000/;
  if (unstorable.test(id) || (value !== null && (unstorable.test(value) || !fitsSortType(value, sortType.sql))))
    throw new AppError("INVALID_INPUT", INVALID_CURSOR);
  return { value, id };
}

/** Rows after the cursor in the order (value, id), NULLS LAST in both directions. */
function afterCursor(
  sort: Pick<SortSpec, "expression" | "type" | "nullable">,
  id: Prisma.Sql,
  direction: "asc" | "desc",
  cursor: Cursor,
): Prisma.Sql {
  const beyond = direction === "asc" ? Prisma.raw(">") : Prisma.raw("<");
  if (cursor.value === null) return Prisma.sql`(${sort.expression} IS NULL AND ${id} ${beyond} ${cursor.id})`;
  const after = Prisma.sql`(${sort.expression}, ${id}) ${beyond} (${cursor.value}::${sort.type}, ${cursor.id}::text)`;
  return sort.nullable ? Prisma.sql`(${sort.expression} IS NULL OR ${after})` : after;
}

function orderBy(expression: Prisma.Sql, id: Prisma.Sql, direction: "asc" | "desc", nullable: boolean): Prisma.Sql {
  const way = Prisma.raw(direction === "asc" ? "ASC" : "DESC");
  return nullable
    ? Prisma.sql`${expression} ${way} NULLS LAST, ${id} ${way}`
    : Prisma.sql`${expression} ${way}, ${id} ${way}`;
}

type RawRow = Omit<RunsTableRow, "params" | "paramCount"> & {
  params: unknown;
  paramCount: bigint | null;
  sortKey: string | null;
};

/** One page's worth of rows from `from`, per experiment e, in the order (value, id). */
type PagePart = { from: Prisma.Sql; conditions: Prisma.Sql[]; value: Prisma.Sql; id: Prisma.Sql; nullable: boolean };

function rowColumns(best: Prisma.Sql, value: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`r.id, r.name, r.status::text AS status, r.config -> 'params' AS params, r."paramCount", r."totalFlops", r."wallClockSeconds",
    r.backend, r."workerName", r.tags, r.notes, left(r.error, 300) AS error, ms."lastValue" AS "finalMetric", ${best} AS "bestMetric",
    r."experimentId", r."createdAt", r."updatedAt", ${value} AS "sortValue", (${value})::text AS "sortKey"`;
}

function pagePartSql(
  experimentIds: string[],
  best: Prisma.Sql,
  part: PagePart,
  direction: "asc" | "desc",
  take: number,
): Prisma.Sql {
  return Prisma.sql`
    SELECT t.* FROM unnest(${experimentIds}::text[]) AS e(id) CROSS JOIN LATERAL (
      SELECT ${rowColumns(best, part.value)}
      FROM ${part.from}
      WHERE ${Prisma.join(part.conditions, " AND ")}
      ORDER BY ${orderBy(part.value, part.id, direction, part.nullable)}
      LIMIT ${take}::int
    ) t
    ORDER BY ${orderBy(Prisma.sql`t."sortValue"`, Prisma.sql`t.id`, direction, part.nullable)}
    LIMIT ${take}::int`;
}

export async function listRunsTable(
  db: Db,
  query: RunsTableInput,
): Promise<{
  rows: RunsTableRow[];
  columns: string[];
  nextCursor: string | null;
  /** The metric finalMetric and bestMetric hold (named, or resolved when the input named none). */
  metric: { name: string; goal: "min" | "max" };
}> {
  const parsed = ZRunsTableInput.parse(query);
  const experimentIds = parsed.experimentIds
    ? [...new Set(parsed.experimentIds)]
    : await experimentsOfRuns(db, parsed.filter.runIds ?? []);
  const { metric, goal } = await metricChoice(
    db,
    parsed,
    parsed.experimentIds ? { experimentIds } : { runIds: parsed.filter.runIds ?? [] },
  );
  const input = { ...parsed, metric };
  const sort = await sortSpec(db, input, experimentIds, goal);
  const filters = filterSql(input.filter);
  const cursor = input.cursor ? decodeCursor(input.cursor, sort.type) : null;
  const direction = input.sort.direction;
  const best = goal === "max" ? Prisma.sql`ms."maxValue"` : Prisma.sql`ms."minValue"`;
  const take = input.limit + 1;
  const partSql = (part: PagePart) => pagePartSql(experimentIds, best, part, direction, take);
  const runs = Prisma.sql`"Run" r LEFT JOIN "MetricSeries" ms ON ms."runId" = r.id AND ms.key = ${input.metric}`;
  const inExperiment = Prisma.sql`r."experimentId" = e.id`;
  const rId = Prisma.sql`r.id`;

  const readRows = (): Promise<RawRow[]> => {
    if (!sort.indexed) {
      const after = cursor ? [afterCursor(sort, rId, direction, cursor)] : [];
      return db.$queryRaw<RawRow[]>(
        partSql({
          from: runs,
          conditions: [inExperiment, ...filters, ...after],
          value: sort.expression,
          id: rId,
          nullable: sort.nullable,
        }),
      );
    }
    // Runs with a value sort before runs without one (NULLS LAST both ways), so the valued runs are read
    // first, in index order; the rest, in id order from the runs, only when they fall short of a page
    // (a one-time filter: PostgreSQL skips that scan otherwise).
    const beyond = Prisma.raw(direction === "asc" ? ">" : "<");
    const restAfter = cursor?.value === null ? [Prisma.sql`r.id ${beyond} ${cursor.id}`] : [];
    // No index order to follow here, so one scan over the experiments (their ids as values, which the
    // planner estimates per experiment) rather than one per experiment.
    const restConditions = [
      Prisma.sql`r."experimentId" = ANY(${experimentIds}::text[])`,
      Prisma.sql`${sort.expression} IS NULL`,
      ...filters,
      ...restAfter,
    ];
    const rest = Prisma.sql`
      SELECT ${rowColumns(best, Prisma.sql`NULL::${sort.type}`)} FROM "Run" r ${seriesProbe(input.metric)}
      WHERE ${Prisma.join(restConditions, " AND ")} ORDER BY r.id ${Prisma.raw(direction === "asc" ? "ASC" : "DESC")} LIMIT ${take}::int`;
    if (cursor?.value === null) return db.$queryRaw<RawRow[]>(rest);
    const { from, scope, value, id } = sort.indexed;
    const valuedAfter = cursor
      ? [afterCursor({ ...sort, expression: value, nullable: false }, id, direction, cursor)]
      : [];
    const valued = partSql({
      from,
      conditions: [scope, Prisma.sql`${value} IS NOT NULL`, ...filters, ...valuedAfter],
      value,
      id,
      nullable: false,
    });
    return db.$queryRaw<RawRow[]>`
      WITH valued AS MATERIALIZED (${valued})
      SELECT page.* FROM (
        SELECT * FROM valued
        UNION ALL
        SELECT * FROM (${rest}) rest WHERE (SELECT count(*) FROM valued) < ${take}::int
      ) page
      ORDER BY ${orderBy(Prisma.sql`page."sortValue"`, Prisma.sql`page.id`, direction, true)}
      LIMIT ${take}::int`;
  };
  // Two connections at once: the page and the parameter names cost one round trip, not two.
  const [rows, columns] = await Promise.all([readRows(), listParamColumns(db, experimentIds)]);

  const shown = rows.slice(0, input.limit);
  const last = shown.at(-1);
  const nextCursor = rows.length > input.limit && last ? encodeCursor({ value: last.sortKey, id: last.id }) : null;
  return {
    rows: shown.map((row) => ({
      id: row.id,
      name: row.name,
      status: row.status,
      params: scalarParams(row.params),
      paramCount: row.paramCount === null ? null : Number(row.paramCount),
      totalFlops: row.totalFlops,
      wallClockSeconds: row.wallClockSeconds,
      backend: row.backend,
      workerName: row.workerName,
      tags: row.tags,
      notes: row.notes,
      error: row.error,
      finalMetric: row.finalMetric,
      bestMetric: row.bestMetric,
      experimentId: row.experimentId,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    })),
    columns,
    nextCursor,
    metric: { name: metric, goal },
  };
}

/** The metric named (its goal as given, else guessed), or the selection's resolved metric and its goal. */
async function metricChoice(
  db: Db,
  input: { metric?: string | undefined; metricGoal?: "min" | "max" | undefined },
  selection: { experimentIds: readonly string[] } | { runIds: readonly string[] },
): Promise<{ metric: string; goal: "min" | "max" }> {
  if (input.metric !== undefined)
    return { metric: input.metric, goal: input.metricGoal ?? guessMetricGoal(input.metric) };
  const resolved = await resolveSelectionMetric(db, selection);
  return { metric: resolved.name, goal: input.metricGoal ?? resolved.goal };
}

/** A run's params that are scalars (what tables, filters and the hyperparameter view compare). */
export function scalarParams(value: unknown): Record<string, ParamValue> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
  const params: Record<string, ParamValue> = {};
  for (const [name, item] of Object.entries(value)) {
    if (item === null || typeof item === "string" || typeof item === "number" || typeof item === "boolean")
      params[name] = item;
  }
  return params;
}

/** Per experiment: its parameter paths and whether each holds only numbers ("number") or not ("text"). */
type ParamShape = { newest: Date | null; readAt: number; kinds: Map<string, "number" | "text"> };

const PARAM_SHAPE_CACHE_SIZE = 1000;
/** Longest a shape is trusted without rereading, for runs committed late with an older createdAt. */
const PARAM_SHAPE_TTL_MS = 30_000;
const paramShapeCache = new Map<string, ParamShape>();

/**
 * The parameter shapes of the experiments. Reading them means reading every run's config (tens of
 * milliseconds at 10,000 runs), and a run's config never changes once created, so each experiment's
 * shape is kept per process and reread when a newer run appears (its newest createdAt, one index
 * probe on (experimentId, createdAt, id)) or after PARAM_SHAPE_TTL_MS.
 */
async function paramShapes(db: Db, experimentIds: readonly string[]): Promise<ParamShape[]> {
  const unique = [...new Set(experimentIds)];
  const newest = await db.$queryRaw<{ experimentId: string; newest: Date | null }[]>`
    SELECT e.id AS "experimentId", (SELECT max(r."createdAt") FROM "Run" r WHERE r."experimentId" = e.id) AS newest
    FROM unnest(${unique}::text[]) AS e(id)`;
  const newestOf = new Map(newest.map((row) => [row.experimentId, row.newest?.getTime() ?? null]));
  const now = Date.now();
  const stale = unique.filter((id) => {
    const cached = paramShapeCache.get(id);
    return (
      !cached ||
      now - cached.readAt > PARAM_SHAPE_TTL_MS ||
      (cached.newest?.getTime() ?? null) !== (newestOf.get(id) ?? null)
    );
  });
  if (stale.length > 0) {
    const rows = await db.$queryRaw<
      { experimentId: string; name: string | null; numeric: boolean | null; newest: Date | null }[]
    >`
      SELECT e.id AS "experimentId", k.name, k.numeric, (SELECT max(r."createdAt") FROM "Run" r WHERE r."experimentId" = e.id) AS newest
      FROM unnest(${stale}::text[]) AS e(id)
      LEFT JOIN LATERAL (
        SELECT p.name, bool_and(jsonb_typeof(p.value) = 'number') AS numeric
        FROM "Run" r CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(r.config -> 'params') = 'object' THEN r.config -> 'params' ELSE '{}'::jsonb END) AS p(name, value)
        WHERE r."experimentId" = e.id AND jsonb_typeof(p.value) <> 'null'
        GROUP BY p.name
      ) k ON true`;
    for (const id of stale) {
      const own = rows.filter((row) => row.experimentId === id);
      const kinds = new Map(
        own.flatMap((row) => (row.name === null ? [] : [[row.name, row.numeric ? "number" : "text"] as const])),
      );
      paramShapeCache.delete(id);
      // The newest createdAt read in the same statement as the shapes, so nothing slips between the two.
      paramShapeCache.set(id, { newest: own[0]?.newest ?? null, readAt: now, kinds });
    }
    while (paramShapeCache.size > PARAM_SHAPE_CACHE_SIZE) paramShapeCache.delete(paramShapeCache.keys().next().value!);
  }
  return unique.map((id) => paramShapeCache.get(id)!);
}

/** The parameter paths the experiments' runs were swept over (their config.params keys), sorted. */
export async function listParamColumns(db: Db, experimentIds: readonly string[]): Promise<string[]> {
  const names = new Set((await paramShapes(db, experimentIds)).flatMap((shape) => [...shape.kinds.keys()]));
  return [...names].sort();
}

export type RunsTableGroup = {
  value: ParamValue;
  count: number;
  metricCount: number;
  mean: number | null;
  min: number | null;
  max: number | null;
};

/** Runs grouped by one parameter's value, with the final metric's mean, min and max over the runs that have a finite one. */
export async function groupRunsTable(db: Db, query: RunsTableGroupsInput): Promise<{ groups: RunsTableGroup[] }> {
  const parsed = ZRunsTableGroupsInput.parse(query);
  const { metric } = await metricChoice(db, parsed, { experimentIds: parsed.experimentIds });
  const input = { ...parsed, metric };
  const conditions = [
    Prisma.sql`r."experimentId" = ANY(${[...new Set(input.experimentIds)]}::text[])`,
    ...filterSql(input.filter),
  ];
  const finite = Prisma.sql`ms."lastValue" NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)`;
  const rows = await db.$queryRaw<
    {
      value: unknown;
      count: number;
      metricCount: number;
      mean: number | null;
      min: number | null;
      max: number | null;
    }[]
  >`
    SELECT ${param(input.groupBy)} AS value, count(*)::int AS count, (count(ms."lastValue") FILTER (WHERE ${finite}))::int AS "metricCount",
           avg(ms."lastValue") FILTER (WHERE ${finite}) AS mean, min(ms."lastValue") FILTER (WHERE ${finite}) AS min, max(ms."lastValue") FILTER (WHERE ${finite}) AS max
    FROM "Run" r LEFT JOIN "MetricSeries" ms ON ms."runId" = r.id AND ms.key = ${input.metric}
    WHERE ${Prisma.join(conditions, " AND ")}
    GROUP BY 1 ORDER BY 1 NULLS LAST`;
  return {
    groups: rows.map((row) => ({
      value:
        row.value === null || ["string", "number", "boolean"].includes(typeof row.value)
          ? (row.value as ParamValue)
          : JSON.stringify(row.value),
      count: row.count,
      metricCount: row.metricCount,
      mean: row.mean,
      min: row.min,
      max: row.max,
    })),
  };
}
