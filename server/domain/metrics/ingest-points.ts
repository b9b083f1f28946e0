import { z } from "zod";
import type { Db } from "../../db.ts";
import { discardSummariesAfter, SUMMARY_WIDTHS, writeSummaries } from "./write-summaries.ts";

export const ZMetricPoint = z.object({
  key: z.string().min(1).max(200),
  step: z.number().int().min(0).max(2_147_483_647),
  value: z.number(),
  wallTime: z.number().optional(),
});
export type MetricPointInput = z.infer<typeof ZMetricPoint>;

/** float8 text that PostgreSQL reads back exactly, including NaN and the infinities. */
function float8(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return String(value);
}

/**
 * Stores a batch of points for one run: idempotent on (run, key, step), a later value for the
 * same step replaces the earlier (a resumed attempt overwrites what a dead one logged), and NaN or
 * infinite values are kept as such. The series rows (created on first use, with their counts and
 * ranges) and the points are written by one statement: the points' foreign-key checks run at its
 * end, after the series rows exist. Then the summaries of the touched buckets.
 */
export async function ingestPoints(db: Db, runId: string, points: MetricPointInput[]): Promise<{ stored: number }> {
  if (points.length === 0) return { stored: 0 };
  // Last write wins inside one batch too.
  const unique = new Map<string, MetricPointInput>();
  for (const point of points) unique.set(`${point.key}\u0000${point.step}`, point);
  const rows = [...unique.values()];
  const keys = [...new Set(rows.map((row) => row.key))];
  const series = await db.$queryRaw<{ id: string; key: string }[]>`
    WITH incoming AS (
      SELECT * FROM unnest(${rows.map((row) => row.key)}::text[], ${rows.map((row) => row.step)}::int[], ${rows.map((row) => float8(row.value))}::float8[], ${rows.map((row) => (row.wallTime === undefined ? null : row.wallTime))}::float8[])
        AS t(key, step, value, wall_time)
    ), named AS (
      -- A new series gets the id every writer of it computes the same way, so concurrent first batches agree.
      SELECT k.key, COALESCE(m.id, 's' || md5(${runId} || '/' || k.key)) AS id
      FROM unnest(${keys}::text[]) AS k(key) LEFT JOIN "MetricSeries" m ON m."runId" = ${runId} AND m.key = k.key
    ), written AS (
      INSERT INTO "MetricPoint" ("seriesId", step, value, "wallTime")
      SELECT n.id, i.step, i.value, i.wall_time FROM incoming i JOIN named n ON n.key = i.key
      ORDER BY n.id, i.step -- one lock order for every writer, so batches that overlap wait instead of deadlocking
      ON CONFLICT ("seriesId", step) DO UPDATE SET value = EXCLUDED.value, "wallTime" = EXCLUDED."wallTime"
      RETURNING "seriesId", step, value, (xmax = 0) AS inserted
    ), totals AS (
      SELECT "seriesId", max(step) AS last_step, min(step) AS first_step, count(*) FILTER (WHERE inserted)::int AS added,
             (array_agg(value ORDER BY step DESC))[1] AS last_value,
             min(value) FILTER (WHERE value <> 'NaN'::float8 AND value NOT IN ('Infinity', '-Infinity')) AS min_value,
             max(value) FILTER (WHERE value <> 'NaN'::float8 AND value NOT IN ('Infinity', '-Infinity')) AS max_value
      FROM written GROUP BY "seriesId"
    )
    INSERT INTO "MetricSeries" AS s (id, "runId", key, "pointCount", "firstStep", "lastStep", "lastValue", "minValue", "maxValue", "updatedAt")
    SELECT n.id, ${runId}, n.key, t.added, t.first_step, t.last_step, t.last_value, t.min_value, t.max_value, now()
    FROM totals t JOIN named n ON n.id = t."seriesId" ORDER BY n.id
    ON CONFLICT ("runId", key) DO UPDATE SET
      "pointCount" = s."pointCount" + EXCLUDED."pointCount",
      "firstStep" = LEAST(COALESCE(s."firstStep", EXCLUDED."firstStep"), EXCLUDED."firstStep"),
      "lastStep" = GREATEST(COALESCE(s."lastStep", EXCLUDED."lastStep"), EXCLUDED."lastStep"),
      "lastValue" = CASE WHEN s."lastStep" IS NULL OR EXCLUDED."lastStep" >= s."lastStep" THEN EXCLUDED."lastValue" ELSE s."lastValue" END,
      "minValue" = LEAST(s."minValue", EXCLUDED."minValue"),
      "maxValue" = GREATEST(s."maxValue", EXCLUDED."maxValue"),
      "updatedAt" = now()
    RETURNING s.id, s.key`;
  await writeSummaries(db, touchedBuckets(series, rows));
  return { stored: rows.length };
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
