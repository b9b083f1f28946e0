import type { SqlSession } from "../../db.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { BufferChange, type ChunkAppend, type ChunkHead, type ChunkRow } from "./chunk-codec.ts";
import { numberArrayLiteral } from "./write-summaries.ts";

/** A series row as a writer sees it once it holds the row's lock. */
export type LockedSeries = {
  id: string;
  /** Created by this statement (the run had no such key before). */
  created: boolean;
  key: string;
  number: number;
  pointCount: number;
  firstStep: number | null;
  lastStep: number | null;
  lastValue: number | null;
  minValue: number | null;
  maxValue: number | null;
};

/**
 * Creates the run's series for `keys` that do not exist yet and locks them all (in key order, the one
 * lock order of every writer), so writers of the same series take turns: each reads, merges and writes
 * whole chunks. A new series gets the id every writer of it computes the same way.
 */
export async function lockSeries(session: SqlSession, runId: string, keys: readonly string[]): Promise<LockedSeries[]> {
  return session.rows<LockedSeries>(Prisma.sql`/* prepared: lock metric series */
    INSERT INTO "MetricSeries" AS s (id, "runId", key, "updatedAt")
    SELECT 's' || md5(${runId} || '/' || k.key), ${runId}, k.key, now() FROM unnest(${keys}::text[]) AS k(key) ORDER BY k.key
    ON CONFLICT ("runId", key) DO UPDATE SET "updatedAt" = now()
    RETURNING s.id, (s.xmax = 0) AS created, s.key, s.number, s."pointCount", s."firstStep", s."lastStep", s."lastValue", s."minValue", s."maxValue"`);
}

export type ReadChunk = Pick<
  ChunkRow,
  "seriesNumber" | "chunk" | "count" | "firstStep" | "lastStep" | "stepOffsets" | "pointValues" | "wallTimes"
>;

/** The stored chunks among (series number, chunk) pairs, points included. */
export async function readChunks(session: SqlSession, numbers: number[], chunks: number[]): Promise<ReadChunk[]> {
  if (numbers.length === 0) return [];
  return session.rows<ReadChunk>(Prisma.sql`/* prepared: read metric chunks */
    SELECT c."seriesNumber", c.chunk, c.count, c."firstStep", c."lastStep", c."stepOffsets", c."pointValues", c."wallTimes"
    FROM unnest(${numberArrayLiteral(numbers)}::int[], ${numberArrayLiteral(chunks)}::int[]) AS t(sn, chunk)
    JOIN "MetricChunk" c ON c."seriesNumber" = t.sn AND c.chunk = t.chunk`);
}

/**
 * Buffers travel as one bytea with each one's position and length (-1: null): a statement then has a
 * fixed number of parameters whatever the number of chunks.
 */
function packBuffers(columns: (Uint8Array | null)[][]) {
  let total = 0;
  for (const column of columns) for (const buffer of column) total += buffer?.byteLength ?? 0;
  const blob = new Uint8Array(total);
  let at = 0;
  const places = columns.map((column) => {
    const starts: number[] = [];
    const lengths: number[] = [];
    for (const buffer of column) {
      starts.push(at + 1);
      lengths.push(buffer ? buffer.byteLength : -1);
      if (buffer) {
        blob.set(buffer, at);
        at += buffer.byteLength;
      }
    }
    return { starts: numberArrayLiteral(starts), lengths: numberArrayLiteral(lengths) };
  });
  return { blob, places };
}

const slice = (place: { starts: string; lengths: string }, name: string) => ({
  columns: Prisma.sql`${place.starts}::int[], ${place.lengths}::int[]`,
  value: Prisma.raw(
    `CASE WHEN t.${name}_len < 0 THEN NULL ELSE substring(b.blob FROM t.${name}_at FOR t.${name}_len) END`,
  ),
  names: Prisma.raw(`${name}_at, ${name}_len`),
});

type ChunkBuffers = [
  offsets: Uint8Array | null,
  values: Uint8Array,
  walls: Uint8Array | null,
  fine: Uint8Array | null,
  coarse: Uint8Array | null,
];

/** A chunk's five buffers for each row, packed into one bytea with the SQL that slices each column back out. */
function packChunkBuffers(rows: ChunkBuffers[]) {
  const { blob, places } = packBuffers([0, 1, 2, 3, 4].map((column) => rows.map((row) => row[column] ?? null)));
  return {
    blob,
    offsets: slice(places[0]!, "offsets"),
    values: slice(places[1]!, "vals"),
    walls: slice(places[2]!, "walls"),
    fine: slice(places[3]!, "fine"),
    coarse: slice(places[4]!, "coarse"),
  };
}

/** Writes whole chunks, replacing the stored ones with the same (series number, chunk). */
export async function writeChunks(session: SqlSession, rows: ChunkRow[]): Promise<void> {
  if (rows.length === 0) return;
  rows.sort((a, b) => a.seriesNumber - b.seriesNumber || a.chunk - b.chunk); // one lock order for every writer
  const ints = (pick: (row: ChunkRow) => number | null) => Prisma.sql`${numberArrayLiteral(rows.map(pick))}::int[]`;
  const floats = (pick: (row: ChunkRow) => number) => Prisma.sql`${numberArrayLiteral(rows.map(pick))}::float8[]`;
  const { blob, offsets, values, walls, fine, coarse } = packChunkBuffers(
    rows.map((row) => [row.stepOffsets, row.pointValues, row.wallTimes, row.m4Fine, row.m4Coarse]),
  );
  await session.rows(Prisma.sql`/* prepared: write metric chunks */
    INSERT INTO "MetricChunk" ("seriesNumber", chunk, count, "firstStep", "lastStep", "firstValue", "lastValue", "minValue", "maxValue", "sumValue",
                               "minStep", "maxStep", "nonFiniteStep", "stepOffsets", "pointValues", "wallTimes", "m4Fine", "m4Coarse")
    SELECT t.sn, t.chunk, t.n, t.first_step, t.last_step, t.first_value, t.last_value, t.min_value, t.max_value, t.sum_value,
           t.min_step, t.max_step, t.gap, ${offsets.value}, ${values.value}, ${walls.value}, ${fine.value}, ${coarse.value}
    FROM unnest(${ints((row) => row.seriesNumber)}, ${ints((row) => row.chunk)}, ${ints((row) => row.count)}, ${ints((row) => row.firstStep)}, ${ints((row) => row.lastStep)},
                ${floats((row) => row.firstValue)}, ${floats((row) => row.lastValue)}, ${floats((row) => row.minValue)}, ${floats((row) => row.maxValue)}, ${floats((row) => row.sumValue)},
                ${ints((row) => row.minStep)}, ${ints((row) => row.maxStep)}, ${ints((row) => row.nonFiniteStep)},
                ${offsets.columns}, ${values.columns}, ${walls.columns}, ${fine.columns}, ${coarse.columns})
      AS t(sn, chunk, n, first_step, last_step, first_value, last_value, min_value, max_value, sum_value, min_step, max_step, gap,
           ${offsets.names}, ${values.names}, ${walls.names}, ${fine.names}, ${coarse.names}),
      (SELECT ${blob}::bytea AS blob) b
    ON CONFLICT ("seriesNumber", chunk) DO UPDATE SET
      count = EXCLUDED.count, "firstStep" = EXCLUDED."firstStep", "lastStep" = EXCLUDED."lastStep",
      "firstValue" = EXCLUDED."firstValue", "lastValue" = EXCLUDED."lastValue", "minValue" = EXCLUDED."minValue", "maxValue" = EXCLUDED."maxValue",
      "sumValue" = EXCLUDED."sumValue", "minStep" = EXCLUDED."minStep", "maxStep" = EXCLUDED."maxStep", "nonFiniteStep" = EXCLUDED."nonFiniteStep",
      "stepOffsets" = EXCLUDED."stepOffsets", "pointValues" = EXCLUDED."pointValues", "wallTimes" = EXCLUDED."wallTimes",
      "m4Fine" = EXCLUDED."m4Fine", "m4Coarse" = EXCLUDED."m4Coarse"`);
}

/** A series' summary as MetricSeries keeps it. */
export type SeriesSummary = {
  number: number;
  pointCount: number;
  firstStep: number | null;
  lastStep: number | null;
  lastValue: number | null;
  minValue: number | null;
  maxValue: number | null;
};

/** Stores summaries computed by the caller (exact: from the stored summary and points that were all new). */
export async function writeSeriesSummaries(session: SqlSession, summaries: SeriesSummary[]): Promise<void> {
  if (summaries.length === 0) return;
  const column = (pick: (summary: SeriesSummary) => number | null) => numberArrayLiteral(summaries.map(pick));
  await session.rows(Prisma.sql`/* prepared: write series summaries */
    UPDATE "MetricSeries" s SET "pointCount" = t.n, "firstStep" = t.first_step, "lastStep" = t.last_step, "lastValue" = t.last_value,
      "minValue" = t.min_value, "maxValue" = t.max_value, "updatedAt" = now()
    FROM unnest(${column((summary) => summary.number)}::int[], ${column((summary) => summary.pointCount)}::int[], ${column((summary) => summary.firstStep)}::int[],
                ${column((summary) => summary.lastStep)}::int[], ${column((summary) => summary.lastValue)}::float8[], ${column((summary) => summary.minValue)}::float8[],
                ${column((summary) => summary.maxValue)}::float8[]) AS t(sn, n, first_step, last_step, last_value, min_value, max_value)
    WHERE s.number = t.sn`);
}

/**
 * Recomputes series summaries from their chunks' summaries: exact whatever was replaced or removed
 * (a series' minimum is the least of its chunks' minimums, each computed from the chunk's points).
 */
export async function recomputeSeriesSummaries(session: SqlSession, where: Prisma.Sql): Promise<void> {
  await session.rows(Prisma.sql`
    UPDATE "MetricSeries" s SET
      "pointCount" = COALESCE(t.n, 0), "firstStep" = t.first_step, "lastStep" = t.last_step, "lastValue" = t.last_value,
      "minValue" = t.min_value, "maxValue" = t.max_value, "updatedAt" = now()
    FROM (
      SELECT s2.number, sum(c.count)::int AS n, min(c."firstStep") AS first_step, max(c."lastStep") AS last_step,
             (array_agg(c."lastValue" ORDER BY c."lastStep" DESC))[1] AS last_value,
             min(c."minValue") FILTER (WHERE c."minStep" IS NOT NULL) AS min_value,
             max(c."maxValue") FILTER (WHERE c."maxStep" IS NOT NULL) AS max_value
      FROM "MetricSeries" s2 LEFT JOIN "MetricChunk" c ON c."seriesNumber" = s2.number WHERE ${where} GROUP BY s2.number
    ) t WHERE s.number = t.number`);
}

/** The stored chunks' summaries among (series number, chunk) pairs, without their points (which stay unread, out of line). */
export async function readChunkHeads(session: SqlSession, numbers: number[], chunks: number[]): Promise<ChunkHead[]> {
  if (numbers.length === 0) return [];
  return session.rows<ChunkHead>(Prisma.sql`/* prepared: read metric chunk heads */
    SELECT c."seriesNumber", c.chunk, c.count, c."firstStep", c."lastStep", c."firstValue", c."lastValue", c."minValue", c."maxValue",
           c."sumValue", c."minStep", c."maxStep", c."nonFiniteStep", c."m4Fine", c."m4Coarse",
           c."stepOffsets" IS NULL AS dense, c."wallTimes" IS NOT NULL AS "hasWallTimes"
    FROM unnest(${numberArrayLiteral(numbers)}::int[], ${numberArrayLiteral(chunks)}::int[]) AS t(sn, chunk)
    JOIN "MetricChunk" c ON c."seriesNumber" = t.sn AND c.chunk = t.chunk`);
}

/**
 * Appends points to stored chunks in PostgreSQL (`||`), so their stored points never travel to the
 * client and back; the summary columns and M4 rows are replaced by the caller's.
 */
export async function appendToChunks(session: SqlSession, rows: ChunkAppend[]): Promise<void> {
  if (rows.length === 0) return;
  rows.sort((a, b) => a.seriesNumber - b.seriesNumber || a.chunk - b.chunk);
  const ints = (pick: (row: ChunkAppend) => number | null) => Prisma.sql`${numberArrayLiteral(rows.map(pick))}::int[]`;
  const floats = (pick: (row: ChunkAppend) => number) => Prisma.sql`${numberArrayLiteral(rows.map(pick))}::float8[]`;
  const { blob, offsets, values, walls, fine, coarse } = packChunkBuffers(
    rows.map((row) => [row.offsets.bytes, row.values, row.wallTimes.bytes, row.m4Fine, row.m4Coarse]),
  );
  const changed = (column: string, change: string, value: Prisma.Sql) =>
    Prisma.sql`CASE t.${Prisma.raw(change)} WHEN ${BufferChange.Null}::int THEN NULL WHEN ${BufferChange.Set}::int THEN ${value} ELSE c.${Prisma.raw(`"${column}"`)} || ${value} END`;
  await session.rows(Prisma.sql`/* prepared: append to metric chunks */
    UPDATE "MetricChunk" c SET
      count = t.n, "firstStep" = t.first_step, "lastStep" = t.last_step, "firstValue" = t.first_value, "lastValue" = t.last_value,
      "minValue" = t.min_value, "maxValue" = t.max_value, "sumValue" = t.sum_value, "minStep" = t.min_step, "maxStep" = t.max_step,
      "nonFiniteStep" = t.gap, "stepOffsets" = ${changed("stepOffsets", "offsets_change", offsets.value)},
      "pointValues" = c."pointValues" || ${values.value}, "wallTimes" = ${changed("wallTimes", "walls_change", walls.value)},
      "m4Fine" = ${fine.value}, "m4Coarse" = ${coarse.value}
    FROM unnest(${ints((row) => row.seriesNumber)}, ${ints((row) => row.chunk)}, ${ints((row) => row.count)}, ${ints((row) => row.firstStep)}, ${ints((row) => row.lastStep)},
                ${floats((row) => row.firstValue)}, ${floats((row) => row.lastValue)}, ${floats((row) => row.minValue)}, ${floats((row) => row.maxValue)}, ${floats((row) => row.sumValue)},
                ${ints((row) => row.minStep)}, ${ints((row) => row.maxStep)}, ${ints((row) => row.nonFiniteStep)},
                ${ints((row) => row.offsets.change)}, ${ints((row) => row.wallTimes.change)},
                ${offsets.columns}, ${values.columns}, ${walls.columns}, ${fine.columns}, ${coarse.columns})
      AS t(sn, chunk, n, first_step, last_step, first_value, last_value, min_value, max_value, sum_value, min_step, max_step, gap,
           offsets_change, walls_change, ${offsets.names}, ${values.names}, ${walls.names}, ${fine.names}, ${coarse.names}),
      (SELECT ${blob}::bytea AS blob) b
    WHERE c."seriesNumber" = t.sn AND c.chunk = t.chunk`);
}
