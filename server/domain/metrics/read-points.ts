import type { Db } from "../../db.ts";
import { type ChunkRow, chunkOf, decodeChunk, decodeSteps } from "./chunk-codec.ts";

export type LoggedPoint = { key: string; step: number; value: number; wallTime: number | null };

/**
 * Every stored point of a run (or of one of its keys), decoded from the chunks, by key then step:
 * what `SELECT * FROM "MetricPoint"` answered before points were stored in chunks. For exports, checks
 * and tests; charts read windows and summaries through querySeries instead.
 */
export async function readLoggedPoints(
  db: Pick<Db, "$queryRaw">,
  where: { runId?: string; key?: string; seriesId?: string },
): Promise<LoggedPoint[]> {
  const rows = await db.$queryRaw<(ChunkRow & { key: string })[]>`
    SELECT s.key, c.chunk, c.count, c."firstStep", c."stepOffsets", c."pointValues", c."wallTimes"
    FROM "MetricSeries" s JOIN "MetricChunk" c ON c."seriesNumber" = s.number
    WHERE (${where.runId ?? null}::text IS NULL OR s."runId" = ${where.runId ?? null})
      AND (${where.key ?? null}::text IS NULL OR s.key = ${where.key ?? null})
      AND (${where.seriesId ?? null}::text IS NULL OR s.id = ${where.seriesId ?? null})
    ORDER BY s.key COLLATE "C", c.chunk`;
  return rows.flatMap((row) => decodeChunk(row).map((point) => ({ key: row.key, ...point })));
}

/** How many points are stored in all (or for one run, or one run's key). */
export async function countLoggedPoints(
  db: Pick<Db, "$queryRaw">,
  where: { runId?: string; key?: string } = {},
): Promise<number> {
  const [row] = await db.$queryRaw<{ count: number }[]>`
    SELECT COALESCE(sum(c.count), 0)::int AS count
    FROM "MetricSeries" s JOIN "MetricChunk" c ON c."seriesNumber" = s.number
    WHERE (${where.runId ?? null}::text IS NULL OR s."runId" = ${where.runId ?? null})
      AND (${where.key ?? null}::text IS NULL OR s.key = ${where.key ?? null})`;
  return row?.count ?? 0;
}

/** The stored values of one run's key at the given steps (NaN and the infinities as such); steps never logged are absent. */
export async function readLoggedValues(
  db: Pick<Db, "$queryRaw">,
  where: { runId: string; key: string },
  steps: readonly number[],
): Promise<Map<number, number>> {
  const values = new Map<number, number>();
  if (steps.length === 0) return values;
  const wanted = new Set(steps);
  const chunks = [...new Set(steps.map(chunkOf))];
  const rows = await db.$queryRaw<ChunkRow[]>`
    SELECT c.chunk, c.count, c."firstStep", c."stepOffsets", c."pointValues"
    FROM "MetricSeries" s JOIN "MetricChunk" c ON c."seriesNumber" = s.number
    WHERE s."runId" = ${where.runId} AND s.key = ${where.key} AND c.chunk = ANY(${chunks}::int[])`;
  for (const row of rows)
    decodeSteps(row, (step, value) => {
      if (wanted.has(step)) values.set(step, value);
    });
  return values;
}
