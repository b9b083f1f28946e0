import { z } from "zod";
import type { Db } from "../../db.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { discardSummariesAfter, mergeBatchSummaries, numberArrayLiteral, summariesAvailable, summarizeBatch, SUMMARY_WIDTHS, writeSummaries } from "./write-summaries.ts";

export const ZMetricPoint = z.object({
  key: z.string().min(1).max(200),
  step: z.number().int().min(0).max(2_147_483_647),
  value: z.number(),
  wallTime: z.number().optional(),
});
export type MetricPointInput = z.infer<typeof ZMetricPoint>;

/**
 * Stores a batch of points for one run: idempotent on (run, key, step), a later value for the
 * same step replaces the earlier (a resumed attempt overwrites what a dead one logged), and NaN or
 * infinite values are kept as such. The series rows (created on first use, with their counts and
 * ranges), the points and, when every point is new (the usual case: training appends), the summaries
 * are written by one statement: the points' foreign-key checks run at its end, after the series rows
 * exist, and the batch's own bucket summaries are merged into the stored ones. A batch that replaced
 * a value (a retry, a resumed attempt) has its touched buckets recomputed from the points instead.
 */
export async function ingestPoints(db: Db, runId: string, points: MetricPointInput[]): Promise<{ stored: number }> {
  if (points.length === 0) return { stored: 0 };
  const rows = withoutRepeatedSteps(points);
  const keys = [...new Set(rows.map((row) => row.key))];
  const keyNumber = new Map(keys.map((key, index) => [key, index + 1]));
  const ranges = keyRanges(rows, keys);
  const summaries = await summariesAvailable(db);
  // The comment names the statement so its plan is prepared once per connection (server/db.ts).
  const write = (replacing: boolean) => db.$queryRaw<{ id: string; key: string; summarized: boolean }[]>`/* prepared: ingest points */
    WITH incoming AS (
      SELECT k.key, t.step, t.value, t.wall_time
      FROM unnest(${numberArrayLiteral(rows.map((row) => keyNumber.get(row.key)!))}::int[], ${numberArrayLiteral(rows.map((row) => row.step))}::int[],
                  ${numberArrayLiteral(rows.map((row) => row.value))}::float8[], ${numberArrayLiteral(rows.map((row) => row.wallTime))}::float8[]) AS t(key_number, step, value, wall_time)
      JOIN unnest(${keys}::text[]) WITH ORDINALITY k(key, number) ON k.number = t.key_number
    ), named AS (
      -- A new series gets the id every writer of it computes the same way, so concurrent first batches agree.
      SELECT k.*, COALESCE(m.id, 's' || md5(${runId} || '/' || k.key)) AS id
      FROM unnest(${keys}::text[], ${numberArrayLiteral(ranges.firstSteps)}::int[], ${numberArrayLiteral(ranges.lastSteps)}::int[], ${numberArrayLiteral(ranges.lastValues)}::float8[],
                  ${numberArrayLiteral(ranges.minValues)}::float8[], ${numberArrayLiteral(ranges.maxValues)}::float8[]) AS k(key, first_step, last_step, last_value, min_value, max_value)
      LEFT JOIN "MetricSeries" m ON m."runId" = ${runId} AND m.key = k.key
    ), written AS (
      INSERT INTO "MetricPoint" ("seriesId", step, value, "wallTime")
      SELECT n.id, i.step, i.value, i.wall_time FROM incoming i JOIN named n ON n.key = i.key
      ORDER BY n.id, i.step -- one lock order for every writer, so batches that overlap wait instead of deadlocking
      ${replacing ? Prisma.sql`ON CONFLICT ("seriesId", step) DO UPDATE SET value = EXCLUDED.value, "wallTime" = EXCLUDED."wallTime"` : Prisma.empty}
      RETURNING "seriesId", (xmax = 0) AS inserted
    ), totals AS (
      -- Every row of the batch is in written, inserted or updated: only the count of new ones needs it.
      SELECT "seriesId", count(*) FILTER (WHERE inserted)::int AS added FROM written GROUP BY "seriesId"
    ), upserted AS (
      INSERT INTO "MetricSeries" AS s (id, "runId", key, "pointCount", "firstStep", "lastStep", "lastValue", "minValue", "maxValue", "updatedAt")
      SELECT n.id, ${runId}, n.key, t.added, n.first_step, n.last_step, n.last_value, n.min_value, n.max_value, now()
      FROM totals t JOIN named n ON n.id = t."seriesId" ORDER BY n.id
      ON CONFLICT ("runId", key) DO UPDATE SET
        "pointCount" = s."pointCount" + EXCLUDED."pointCount",
        "firstStep" = LEAST(COALESCE(s."firstStep", EXCLUDED."firstStep"), EXCLUDED."firstStep"),
        "lastStep" = GREATEST(COALESCE(s."lastStep", EXCLUDED."lastStep"), EXCLUDED."lastStep"),
        "lastValue" = CASE WHEN s."lastStep" IS NULL OR EXCLUDED."lastStep" >= s."lastStep" THEN EXCLUDED."lastValue" ELSE s."lastValue" END,
        "minValue" = LEAST(s."minValue", EXCLUDED."minValue"),
        "maxValue" = GREATEST(s."maxValue", EXCLUDED."maxValue"),
        "updatedAt" = now()
      RETURNING s.id, s.key
    )${summaries ? Prisma.sql`, ${mergeBatchSummaries(summarizeBatch(rows, keys), keys, Prisma.sql`upserted`, Prisma.sql`NOT EXISTS (SELECT 1 FROM written WHERE NOT inserted)`)}` : Prisma.empty}
    SELECT id, key, ${summaries ? Prisma.sql`EXISTS (SELECT 1 FROM summarized)` : Prisma.sql`false`} AS summarized FROM upserted`;
  // Training appends, so a batch rarely repeats a stored step, and a plain INSERT costs PostgreSQL a
  // sixth less than one that looks for a conflict on every row. A batch that does repeat one (a retry,
  // a resumed attempt) fails on the primary key, changing nothing, and is written again replacing.
  // Inside a caller's transaction the failure would abort it, so there the replacing form runs at once.
  const inTransaction = typeof db.$disconnect !== "function";
  let series = inTransaction
    ? null
    : await write(false).catch((error: unknown) => {
        if (isDuplicatePoint(error)) return null;
        throw error;
      });
  series ??= await write(true);
  if (summaries && !series[0]?.summarized) await writeSummaries(db, touchedBuckets(series, rows));
  return { stored: rows.length };
}

/** The batch with each (key, step) once, the last write winning; the batch itself when every key's steps only go up (the usual case). */
function withoutRepeatedSteps(points: MetricPointInput[]): MetricPointInput[] {
  const lastStep = new Map<string, number>();
  for (const { key, step } of points) {
    if ((lastStep.get(key) ?? -1) >= step) {
      const unique = new Map<string, MetricPointInput>();
      for (const point of points) unique.set(`${point.key}\u0000${point.step}`, point);
      return [...unique.values()];
    }
    lastStep.set(key, step);
  }
  return points;
}

/** A unique violation on MetricPoint's primary key: the batch repeats a step already stored. */
function isDuplicatePoint(error: unknown): boolean {
  const { meta } = (error ?? {}) as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; constraint?: { index?: unknown } } } } };
  const cause = meta?.driverAdapterError?.cause;
  return cause?.originalCode === "23505" && cause.constraint?.index === "MetricPoint_pkey";
}

/** Each key's first and last step, the value at the last, and the smallest and largest finite values (null if none) in a batch. */
function keyRanges(rows: MetricPointInput[], keys: string[]) {
  const ranges = new Map(keys.map((key) => [key, { firstStep: Infinity, lastStep: -1, lastValue: 0, minValue: null as number | null, maxValue: null as number | null }]));
  for (const { key, step, value } of rows) {
    const range = ranges.get(key)!;
    range.firstStep = Math.min(range.firstStep, step);
    if (step > range.lastStep) [range.lastStep, range.lastValue] = [step, value];
    if (!Number.isFinite(value)) continue;
    if (range.minValue === null || value < range.minValue) range.minValue = value;
    if (range.maxValue === null || value > range.maxValue) range.maxValue = value;
  }
  const list = [...ranges.values()];
  return {
    firstSteps: list.map((range) => range.firstStep),
    lastSteps: list.map((range) => range.lastStep),
    lastValues: list.map((range) => range.lastValue),
    minValues: list.map((range) => range.minValue),
    maxValues: list.map((range) => range.maxValue),
  };
}

/** One point per (series, level-1 bucket) the batch touched: all writeSummaries needs to find what to recompute. */
function touchedBuckets(series: { id: string; key: string }[], rows: MetricPointInput[]): { seriesIds: string[]; steps: number[] } {
  const idOf = new Map(series.map((row) => [row.key, row.id]));
  const width = SUMMARY_WIDTHS[1]!;
  const seen = new Set<string>();
  const touched = { seriesIds: [] as string[], steps: [] as number[] };
  for (const row of rows) {
    const id = idOf.get(row.key)!;
    const bucket = `${id}\u0000${Math.floor(row.step / width)}`;
    if (seen.has(bucket)) continue;
    seen.add(bucket);
    touched.seriesIds.push(id);
    touched.steps.push(row.step);
  }
  return touched;
}

/** Ingests for a worker's attempt only while that attempt owns the run, so a worker presumed dead cannot write over its successor. */
export async function ingestPointsForAttempt(db: Db, runId: string, attempt: number, points: MetricPointInput[]): Promise<boolean> {
  if (points.length === 0) return true;
  return db.$transaction(async (tx) => {
    const owner = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "Run" WHERE id = ${runId} AND attempt = ${attempt} AND status = 'running' FOR SHARE`;
    if (owner.length === 0) return false;
    await ingestPoints(tx as unknown as Db, runId, points);
    const step = points.reduce((max, point) => Math.max(max, point.step), 0);
    await tx.$executeRaw`SELECT pg_notify('scaleboard_runs', ${JSON.stringify({ runId, step, keys: [...new Set(points.map((point) => point.key))] })})`;
    return true;
  });
}

/**
 * Before an attempt resumes from a checkpoint at `step` (or starts over: null), the points its
 * predecessor logged later are removed, so the series ends up with each step exactly once.
 */
export async function discardPointsAfter(db: Db, runId: string, step: number | null): Promise<void> {
  const after = step ?? -1;
  await db.$executeRaw`DELETE FROM "MetricPoint" p USING "MetricSeries" s WHERE p."seriesId" = s.id AND s."runId" = ${runId} AND p.step > ${after}`;
  await db.$executeRaw`
    UPDATE "MetricSeries" s SET
      "pointCount" = stats.count, "firstStep" = stats.first_step, "lastStep" = stats.last_step, "lastValue" = stats.last_value,
      "minValue" = stats.min_value, "maxValue" = stats.max_value, "updatedAt" = now()
    FROM (
      SELECT s2.id, count(p.step)::int AS count, min(p.step) AS first_step, max(p.step) AS last_step,
             (array_agg(p.value ORDER BY p.step DESC))[1] AS last_value,
             min(p.value) FILTER (WHERE p.value <> 'NaN'::float8 AND p.value NOT IN ('Infinity', '-Infinity')) AS min_value,
             max(p.value) FILTER (WHERE p.value <> 'NaN'::float8 AND p.value NOT IN ('Infinity', '-Infinity')) AS max_value
      FROM "MetricSeries" s2 LEFT JOIN "MetricPoint" p ON p."seriesId" = s2.id
      WHERE s2."runId" = ${runId} GROUP BY s2.id
    ) stats WHERE s.id = stats.id`;
  await discardSummariesAfter(db, runId, step);
}
