import { type Db, prismaSession } from "../../db.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { decodeChunk, encodeChunk } from "./chunk-codec.ts";
import { readChunks, recomputeSeriesSummaries, writeChunks } from "./store-chunks.ts";

/**
 * Summaries live with the points (chunk-codec.ts): each MetricChunk row carries its own summary and
 * its M4 buckets of 64 and 256 steps, written with its points, and each MetricSeries row the summary
 * of its chunks (first, last, minimum, maximum, count), recomputed from them whenever a point is
 * replaced or removed. Nothing here runs on the write path; rebuildSummaries re-derives both from
 * the stored points (after a bulk load written around ingest, or to repair).
 */

/** float8 text that PostgreSQL reads back exactly, including NaN and the infinities. */
export function float8Text(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return Object.is(value, -0) ? "-0" : String(value);
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

/** Re-derives the given series' chunk summaries and series summaries from their stored points. */
export async function rebuildSummaries(db: Db, seriesIds: string[]): Promise<void> {
  if (seriesIds.length === 0) return;
  await db.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<{ number: number }[]>`
        SELECT number FROM "MetricSeries" WHERE id = ANY(${seriesIds}::text[]) ORDER BY id FOR UPDATE`;
      const numbers = locked.map((row) => row.number);
      const stored = await tx.$queryRaw<{ seriesNumber: number; chunk: number }[]>`
        SELECT "seriesNumber", chunk FROM "MetricChunk" WHERE "seriesNumber" = ANY(${numbers}::int[])`;
      const session = prismaSession(tx);
      const chunks = await readChunks(
        session,
        stored.map((row) => row.seriesNumber),
        stored.map((row) => row.chunk),
      );
      await writeChunks(
        session,
        chunks.map((chunk) => encodeChunk(chunk.seriesNumber, chunk.chunk, decodeChunk(chunk))),
      );
      await recomputeSeriesSummaries(session, Prisma.sql`s2.number = ANY(${numbers}::int[])`);
    },
    { timeout: 600_000 },
  );
}
