import type { Db } from "../../db.ts";
import { Prisma } from "../../generated/prisma/client.ts";

/**
 * Stored M4 summaries of each series, so a chart of 100 runs x 100,000 points reads a few hundred
 * rows per run instead of every point (scanning 10^7 points takes seconds on two cores).
 *
 * Level L (1..7) cuts the step axis into buckets of SUMMARY_WIDTHS[L] = 4^(L+1) steps (16 .. 65,536);
 * bucket b holds steps [b*w, (b+1)*w - 1]. Each row keeps exactly what a min/max-preserving chart
 * needs: the first and last point (firstStep/firstValue, lastStep/lastValue), the smallest and largest
 * finite values with their steps (minValue/minStep, maxValue/maxStep; NaN and null when the bucket
 * has no finite value), the first step holding NaN or an infinity (nonFiniteStep: a gap), the count
 * and the sum. Ties keep the earliest minimum and the latest maximum at every level, so a level built
 * from the one below equals the same level built from the points.
 *
 * Writes: a batch whose points are all new (training appends) is summarized in JS (summarizeBatch)
 * and merged into every level by ingest's own statement (mergeBatchSummaries): counts and sums add,
 * the other fields keep the earlier, later, smaller or larger, which equals recomputing. A batch that
 * replaced a value is recomputed (writeSummaries): level 1 from the points of the buckets it touched,
 * each level above from the four children below it (the touched ones just computed, their siblings as
 * stored), all in one statement, under the series rows' locks (underSeriesLock). Points are only ever
 * added or replaced by ingest; discardPointsAfter, which removes points, calls discardSummariesAfter.
 * Data logged before summaries existed is backfilled with rebuildSummaries (until then charts bucket
 * its points in SQL).
 */

export const SUMMARY_LEVELS = [1, 2, 3, 4, 5, 6, 7] as const;
export const SUMMARY_WIDTHS: Readonly<Record<number, number>> = { 1: 16, 2: 64, 3: 256, 4: 1024, 5: 4096, 6: 16384, 7: 65536 };
/** The coarsest level: a series is summarized completely when this level's counts add up to its pointCount. */
export const TOP_SUMMARY_LEVEL = 7;

// firstValue, lastValue, minStep, maxStep and nonFiniteStep came with migration
// 20261129003839_summary_m4_and_runs_table_index. A database not yet migrated (a CLI or worker
// older than the server) neither writes nor reads summaries: charts bucket points in SQL instead.
// The check runs until the columns are seen once.
let summaryColumnsSeen = false;

/** Whether this database has the summary columns; a positive answer is remembered for the process. */
export async function summariesAvailable(db: Pick<Db, "$queryRaw">): Promise<boolean> {
  if (summaryColumnsSeen) return true;
  const rows = await db.$queryRaw<{ present: boolean }[]>`
    SELECT count(*) = 5 AS present FROM pg_attribute
    WHERE attrelid = to_regclass('"MetricSummary"') AND NOT attisdropped
      AND attname IN ('firstValue', 'lastValue', 'minStep', 'maxStep', 'nonFiniteStep')`;
  summaryColumnsSeen = rows[0]?.present === true;
  return summaryColumnsSeen;
}

const FINITE = (value: Prisma.Sql) => Prisma.sql`${value} NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)`;

/** Level-1 rows aggregated from points `p` grouped by (sid, bucket). */
const FROM_POINTS = Prisma.sql`
  min(p.step) AS first_step, max(p.step) AS last_step, count(*)::int AS n,
  min(ARRAY[p.value, p.step::float8]) FILTER (WHERE ${FINITE(Prisma.sql`p.value`)}) AS mn,
  max(ARRAY[p.value, p.step::float8]) FILTER (WHERE ${FINITE(Prisma.sql`p.value`)}) AS mx,
  sum(p.value) AS sum_value,
  min(ARRAY[p.step::float8, p.value]) AS fst, max(ARRAY[p.step::float8, p.value]) AS lst,
  min(p.step) FILTER (WHERE NOT ${FINITE(Prisma.sql`p.value`)}) AS gap`;

/** Rows of the level below (`c`, already in flat form) aggregated by (sid, bucket / 4). */
const FROM_CHILDREN = Prisma.sql`
  min(c.first_step) AS first_step, max(c.last_step) AS last_step, sum(c.n)::int AS n,
  min(ARRAY[c.min_value, c.min_step::float8]) FILTER (WHERE c.min_step IS NOT NULL) AS mn,
  max(ARRAY[c.max_value, c.max_step::float8]) FILTER (WHERE c.max_step IS NOT NULL) AS mx,
  sum(c.sum_value) AS sum_value,
  min(ARRAY[c.first_step::float8, c.first_value]) AS fst, max(ARRAY[c.last_step::float8, c.last_value]) AS lst,
  min(c.gap) AS gap`;

/** Flattens an aggregate row (array-valued argmin/argmax) into the stored shape. */
const FLATTEN = Prisma.sql`sid, bucket, first_step, last_step, n,
  COALESCE(mn[1], 'NaN'::float8) AS min_value, mn[2]::int AS min_step,
  COALESCE(mx[1], 'NaN'::float8) AS max_value, mx[2]::int AS max_step,
  sum_value, fst[2] AS first_value, lst[2] AS last_value, gap`;

const STORED_AS_FLAT = Prisma.sql`s."seriesId" AS sid, s.bucket, s."firstStep" AS first_step, s."lastStep" AS last_step, s.count AS n,
  s."minValue" AS min_value, s."minStep" AS min_step, s."maxValue" AS max_value, s."maxStep" AS max_step,
  s."sumValue" AS sum_value, s."firstValue" AS first_value, s."lastValue" AS last_value, s."nonFiniteStep" AS gap`;

function levelName(level: number): Prisma.Sql {
  return Prisma.raw(`l${level}`);
}

/** The INSERT that stores every level's CTE rows, replacing what was there. */
function upsertLevels(): Prisma.Sql {
  const selects = SUMMARY_LEVELS.map(
    (level) => Prisma.sql`SELECT sid, ${level}::int, bucket, first_step, last_step, n, min_value, max_value, sum_value, first_value, last_value, min_step, max_step, gap FROM ${levelName(level)}`,
  );
  return Prisma.sql`
    INSERT INTO "MetricSummary" ("seriesId", level, bucket, "firstStep", "lastStep", count, "minValue", "maxValue", "sumValue", "firstValue", "lastValue", "minStep", "maxStep", "nonFiniteStep")
    SELECT * FROM (${Prisma.join(selects, " UNION ALL ")}) u ORDER BY 1, 2, 3 -- one lock order for every writer
    ON CONFLICT ("seriesId", level, bucket) DO UPDATE SET
      "firstStep" = EXCLUDED."firstStep", "lastStep" = EXCLUDED."lastStep", count = EXCLUDED.count,
      "minValue" = EXCLUDED."minValue", "maxValue" = EXCLUDED."maxValue", "sumValue" = EXCLUDED."sumValue",
      "firstValue" = EXCLUDED."firstValue", "lastValue" = EXCLUDED."lastValue",
      "minStep" = EXCLUDED."minStep", "maxStep" = EXCLUDED."maxStep", "nonFiniteStep" = EXCLUDED."nonFiniteStep"`;
}

type SummaryDb = Pick<Db, "$executeRaw" | "$queryRaw"> & Partial<Pick<Db, "$transaction" | "$disconnect">>;

/**
 * Runs the statements holding the series rows' locks, so two batches of one run written at once
 * cannot leave a bucket computed from a snapshot that missed the other's points: the second waits,
 * then reads both. On the root client, in a transaction of their own; on an interactive
 * transaction's client (the worker's ingest), in that transaction, whose locks last until it ends.
 * The two are told apart by $disconnect, which transaction clients lack: their $transaction would
 * run on another connection, outside the caller's transaction and blind to its uncommitted points.
 */
async function underSeriesLock(db: SummaryDb, lock: Prisma.Sql, statements: Prisma.Sql[]): Promise<void> {
  if (typeof db.$disconnect === "function" && typeof db.$transaction === "function") {
    await db.$transaction([db.$queryRaw(lock), ...statements.map((statement) => db.$executeRaw(statement))]);
    return;
  }
  await db.$queryRaw(lock);
  for (const statement of statements) await db.$executeRaw(statement);
}

/** Where points were added or replaced: series ids, or one run's keys, with the steps (parallel arrays). */
export type TouchedPoints = { seriesIds: string[]; steps: number[] } | { runId: string; keys: string[]; steps: number[] };

/**
 * Brings the summaries up to date after points were added or replaced: one statement whatever the
 * batch size (plus the series lock).
 */
export async function writeSummaries(db: SummaryDb, touched: TouchedPoints): Promise<void> {
  if (touched.steps.length === 0 || !(await summariesAvailable(db))) return;
  const width1 = SUMMARY_WIDTHS[1]!;
  const points =
    "seriesIds" in touched
      ? Prisma.sql`SELECT t.sid, t.step FROM unnest(${touched.seriesIds}::text[], ${touched.steps}::int[]) AS t(sid, step)`
      : Prisma.sql`SELECT s.id AS sid, t.step FROM unnest(${touched.keys}::text[], ${touched.steps}::int[]) AS t(key, step)
          JOIN "MetricSeries" s ON s."runId" = ${touched.runId} AND s.key = t.key`;
  const levels: Prisma.Sql[] = [
    Prisma.sql`touched AS (SELECT DISTINCT p.sid, p.step / ${width1}::int AS bucket FROM (${points}) p)`,
    Prisma.sql`l1 AS (SELECT ${FLATTEN} FROM (
      SELECT b.sid, b.bucket, ${FROM_POINTS}
      FROM touched b CROSS JOIN LATERAL (
        SELECT step, value FROM "MetricPoint" WHERE "seriesId" = b.sid AND step BETWEEN b.bucket * ${width1}::int AND b.bucket * ${width1}::int + ${width1 - 1}::int
        OFFSET 0 -- an index range scan per bucket, not a join over the whole table
      ) p GROUP BY b.sid, b.bucket) a)`,
  ];
  for (const level of SUMMARY_LEVELS.slice(1)) {
    const below = levelName(level - 1);
    levels.push(Prisma.sql`${levelName(level)} AS (SELECT ${FLATTEN} FROM (
      SELECT c.sid, c.bucket / 4 AS bucket, ${FROM_CHILDREN} FROM (
        SELECT * FROM ${below}
        UNION ALL
        SELECT ${STORED_AS_FLAT}
        FROM (SELECT DISTINCT sid, bucket / ${4 ** (level - 1)}::int AS parent FROM touched) q
        CROSS JOIN LATERAL (
          SELECT * FROM "MetricSummary" m WHERE m."seriesId" = q.sid AND m.level = ${level - 1}::int AND m.bucket BETWEEN q.parent * 4 AND q.parent * 4 + 3 OFFSET 0
        ) s
        WHERE NOT EXISTS (SELECT 1 FROM ${below} n WHERE n.sid = s."seriesId" AND n.bucket = s.bucket)
      ) c GROUP BY c.sid, c.bucket / 4) a)`);
  }
  const lock =
    "seriesIds" in touched
      ? Prisma.sql`SELECT id FROM "MetricSeries" WHERE id = ANY(${[...new Set(touched.seriesIds)]}::text[]) ORDER BY id FOR UPDATE`
      : Prisma.sql`SELECT id FROM "MetricSeries" WHERE "runId" = ${touched.runId} AND key = ANY(${[...new Set(touched.keys)]}::text[]) ORDER BY id FOR UPDATE`;
  await underSeriesLock(db, lock, [Prisma.sql`WITH ${Prisma.join(levels, ",\n")} ${upsertLevels()}`]);
}

/**
 * One batch's points aggregated per (key, level, bucket): the parallel columns of the rows it adds to
 * every level, `keys` holding each row's key as a position in the batch's list of keys (from 1).
 */
export type BatchSummaries = {
  keys: number[]; levels: number[]; buckets: number[]; firstSteps: number[]; lastSteps: number[]; counts: number[];
  minValues: number[]; maxValues: number[]; sums: number[]; firstValues: number[]; lastValues: number[];
  minSteps: (number | null)[]; maxSteps: (number | null)[]; gaps: (number | null)[];
};

/** float8 text that PostgreSQL reads back exactly, including NaN and the infinities. */
export function float8Text(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return String(value);
}

/**
 * A PostgreSQL array literal of numbers (NULL for null, NaN and the infinities by name), sent as one
 * text parameter: a JS array of 1,000 numbers costs the client and pg a conversion per element,
 * which took more of a batch's time than PostgreSQL's own work on it.
 */
export function numberArrayLiteral(values: readonly (number | null | undefined)[]): string {
  let text = "{";
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    text += `${index === 0 ? "" : ","}${value === null || value === undefined ? "NULL" : float8Text(value)}`;
  }
  return `${text}}`;
}

/**
 * Every level's buckets over one batch's points (one point per key and step), by the same definition
 * as the SQL above (ties keep the earliest minimum and the latest maximum), so merging them into the
 * stored rows gives what recomputing from all the points would.
 */
export function summarizeBatch(points: readonly { key: string; step: number; value: number }[], keys: readonly string[]): BatchSummaries {
  const byKey = new Map<string, { step: number; value: number }[]>();
  for (const point of points) {
    const list = byKey.get(point.key);
    if (list) list.push(point);
    else byKey.set(point.key, [point]);
  }
  const columns: BatchSummaries = {
    keys: [], levels: [], buckets: [], firstSteps: [], lastSteps: [], counts: [], minValues: [], maxValues: [], sums: [],
    firstValues: [], lastValues: [], minSteps: [], maxSteps: [], gaps: [],
  };
  for (const [key, list] of byKey) {
    const keyNumber = keys.indexOf(key) + 1;
    const sorted = list.every((point, index) => index === 0 || list[index - 1]!.step < point.step) ? list : [...list].sort((a, b) => a.step - b.step);
    for (const level of SUMMARY_LEVELS) {
      const width = SUMMARY_WIDTHS[level]!;
      let start = 0;
      while (start < sorted.length) {
        const bucket = Math.floor(sorted[start]!.step / width);
        let end = start;
        let sum = 0;
        let min: { step: number; value: number } | null = null;
        let max: { step: number; value: number } | null = null;
        let gap: number | null = null;
        for (; end < sorted.length && Math.floor(sorted[end]!.step / width) === bucket; end++) {
          const point = sorted[end]!;
          sum += point.value;
          if (!Number.isFinite(point.value)) gap ??= point.step;
          else {
            if (min === null || point.value < min.value) min = point;
            if (max === null || point.value >= max.value) max = point;
          }
        }
        const first = sorted[start]!;
        const last = sorted[end - 1]!;
        columns.keys.push(keyNumber);
        columns.levels.push(level);
        columns.buckets.push(bucket);
        columns.firstSteps.push(first.step);
        columns.lastSteps.push(last.step);
        columns.counts.push(end - start);
        columns.minValues.push(min ? min.value : Number.NaN);
        columns.maxValues.push(max ? max.value : Number.NaN);
        columns.sums.push(sum);
        columns.firstValues.push(first.value);
        columns.lastValues.push(last.value);
        columns.minSteps.push(min?.step ?? null);
        columns.maxSteps.push(max?.step ?? null);
        columns.gaps.push(gap);
        start = end;
      }
    }
  }
  return columns;
}

/**
 * The statement part (an INSERT for a WITH list, named `summarized`) that merges a batch's own
 * summaries into the stored rows: counts and sums add, first/last/min/max keep the earlier, later,
 * smaller or larger. Only valid when every point of the batch was new (a replaced value would be
 * counted twice and could have been a bucket's minimum), so it runs only when `onlyNew` holds; the
 * caller recomputes otherwise. `series` names a relation with the batch's series (id, key) whose rows
 * the same statement has locked by upserting them, so no recompute can interleave; `keys` is the
 * batch's list of keys that `batch.keys` points into.
 */
export function mergeBatchSummaries(batch: BatchSummaries, keys: readonly string[], series: Prisma.Sql, onlyNew: Prisma.Sql): Prisma.Sql {
  const ints = (column: (number | null)[]) => Prisma.sql`${numberArrayLiteral(column)}::int[]`;
  const floats = (column: number[]) => Prisma.sql`${numberArrayLiteral(column)}::float8[]`;
  const better = (column: "minStep" | "maxStep", compare: "<" | ">", value: "minValue" | "maxValue") =>
    Prisma.raw(`EXCLUDED."${column}" IS NOT NULL AND (m."${column}" IS NULL OR (EXCLUDED."${value}", EXCLUDED."${column}") ${compare} (m."${value}", m."${column}"))`);
  return Prisma.sql`summarized AS (
    INSERT INTO "MetricSummary" AS m ("seriesId", level, bucket, "firstStep", "lastStep", count, "minValue", "maxValue", "sumValue", "firstValue", "lastValue", "minStep", "maxStep", "nonFiniteStep")
    SELECT s.id, b.level, b.bucket, b.first_step, b.last_step, b.n, b.min_value, b.max_value, b.sum_value, b.first_value, b.last_value, b.min_step, b.max_step, b.gap
    FROM unnest(${ints(batch.keys)}, ${ints(batch.levels)}, ${ints(batch.buckets)}, ${ints(batch.firstSteps)}, ${ints(batch.lastSteps)}, ${ints(batch.counts)},
                ${floats(batch.minValues)}, ${floats(batch.maxValues)}, ${floats(batch.sums)}, ${floats(batch.firstValues)}, ${floats(batch.lastValues)},
                ${ints(batch.minSteps)}, ${ints(batch.maxSteps)}, ${ints(batch.gaps)})
      AS b(key_number, level, bucket, first_step, last_step, n, min_value, max_value, sum_value, first_value, last_value, min_step, max_step, gap)
    JOIN unnest(${keys}::text[]) WITH ORDINALITY k(key, number) ON k.number = b.key_number
    JOIN ${series} s ON s.key = k.key
    WHERE ${onlyNew}
    ORDER BY 1, 2, 3 -- one lock order for every writer; the sort also waits for every series row to be locked
    ON CONFLICT ("seriesId", level, bucket) DO UPDATE SET
      "firstStep" = LEAST(m."firstStep", EXCLUDED."firstStep"),
      "firstValue" = CASE WHEN EXCLUDED."firstStep" < m."firstStep" THEN EXCLUDED."firstValue" ELSE m."firstValue" END,
      "lastStep" = GREATEST(m."lastStep", EXCLUDED."lastStep"),
      "lastValue" = CASE WHEN EXCLUDED."lastStep" > m."lastStep" THEN EXCLUDED."lastValue" ELSE m."lastValue" END,
      count = m.count + EXCLUDED.count,
      "sumValue" = m."sumValue" + EXCLUDED."sumValue",
      "minValue" = CASE WHEN ${better("minStep", "<", "minValue")} THEN EXCLUDED."minValue" ELSE m."minValue" END,
      "minStep" = CASE WHEN ${better("minStep", "<", "minValue")} THEN EXCLUDED."minStep" ELSE m."minStep" END,
      "maxValue" = CASE WHEN ${better("maxStep", ">", "maxValue")} THEN EXCLUDED."maxValue" ELSE m."maxValue" END,
      "maxStep" = CASE WHEN ${better("maxStep", ">", "maxValue")} THEN EXCLUDED."maxStep" ELSE m."maxStep" END,
      "nonFiniteStep" = LEAST(m."nonFiniteStep", EXCLUDED."nonFiniteStep")
    RETURNING 1
  )`;
}

/**
 * Recomputes every level of the given series from their points: for data logged before summaries
 * existed, and after bulk loads. Work is proportional to the points, so large backfills should
 * pass a few series at a time.
 */
export async function rebuildSummaries(db: SummaryDb, seriesIds: string[]): Promise<void> {
  if (seriesIds.length === 0 || !(await summariesAvailable(db))) return;
  const width1 = SUMMARY_WIDTHS[1]!;
  const levels: Prisma.Sql[] = [
    Prisma.sql`l1 AS (SELECT ${FLATTEN} FROM (
      SELECT p."seriesId" AS sid, p.step / ${width1}::int AS bucket, ${FROM_POINTS}
      FROM "MetricPoint" p WHERE p."seriesId" = ANY(${seriesIds}::text[]) GROUP BY 1, 2) a)`,
  ];
  for (const level of SUMMARY_LEVELS.slice(1)) {
    levels.push(Prisma.sql`${levelName(level)} AS (SELECT ${FLATTEN} FROM (
      SELECT c.sid, c.bucket / 4 AS bucket, ${FROM_CHILDREN} FROM ${levelName(level - 1)} c GROUP BY 1, 2) a)`);
  }
  await underSeriesLock(db, Prisma.sql`SELECT id FROM "MetricSeries" WHERE id = ANY(${seriesIds}::text[]) ORDER BY id FOR UPDATE`, [
    Prisma.sql`DELETE FROM "MetricSummary" WHERE "seriesId" = ANY(${seriesIds}::text[])`,
    Prisma.sql`WITH ${Prisma.join(levels, ",\n")} ${upsertLevels()}`,
  ]);
}

/**
 * After a run's points past `step` were deleted (a resumed attempt): drops every bucket that reached
 * past it and recomputes the buckets that now end at it, so each level again matches the points.
 */
export async function discardSummariesAfter(db: SummaryDb, runId: string, step: number | null): Promise<void> {
  if (!(await summariesAvailable(db))) return;
  const after = step ?? -1;
  const widths = SUMMARY_LEVELS.map((level) => SUMMARY_WIDTHS[level]!);
  await db.$executeRaw`
    DELETE FROM "MetricSummary" m USING "MetricSeries" s, unnest(${[...SUMMARY_LEVELS]}::int[], ${widths}::int[]) AS w(level, width)
    WHERE s."runId" = ${runId} AND m."seriesId" = s.id AND m.level = w.level AND m.bucket::bigint * w.width + w.width - 1 > ${after}`;
  if (after < 0) return;
  const series = await db.$queryRaw<{ id: string }[]>`SELECT id FROM "MetricSeries" WHERE "runId" = ${runId}`;
  await writeSummaries(db, { seriesIds: series.map((row) => row.id), steps: series.map(() => after) });
}
