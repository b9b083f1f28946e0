import { z } from "zod";
import { type Db, prismaSession, rawTransaction, type SqlSession } from "../../db.ts";
import { env } from "../../env.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { AppError } from "../app-error.ts";
import {
  appendChunk,
  CHUNK_STEPS,
  type ChunkAppend,
  type ChunkRow,
  chunkOf,
  decodeChunk,
  encodeChunk,
  sameValue,
  type StoredPoint,
} from "./chunk-codec.ts";
import {
  appendToChunks,
  type LockedSeries,
  lockSeries,
  readChunkHeads,
  readChunks,
  recomputeSeriesSummaries,
  type SeriesSummary,
  writeChunks,
  writeSeriesSummaries,
} from "./store-chunks.ts";

export const ZMetricPoint = z.object({
  key: z.string().min(1).max(200),
  step: z.number().int().min(0).max(2_147_483_647),
  value: z.number(),
  wallTime: z.number().optional(),
});
export type MetricPointInput = z.infer<typeof ZMetricPoint>;

/** What a batch did: stored = new + replaced; unchanged points were already stored with the same value and wall time. */
export type IngestCounts = { stored: number; new: number; replaced: number; unchanged: number };

/**
 * Stores a batch of points for one run: idempotent on (run, key, step), a later value for the
 * same step replaces the earlier (a resumed attempt overwrites what a dead one logged), and NaN or
 * infinite values are kept as such (bit for bit). The run's series for the batch's keys are created
 * if new and locked; the chunks the batch falls in are read, merged with it and written back whole
 * (chunk-codec.ts), with their summaries. Each series' summary is then brought up to date: from the
 * stored one and the batch when every point was new (appending), else recomputed from its chunks'
 * summaries, so a replaced minimum or last value never lingers.
 */
export async function ingestPoints(
  db: Db,
  runId: string,
  points: MetricPointInput[],
  options: { maxKeys?: number } = {},
): Promise<IngestCounts> {
  if (points.length === 0) return { stored: 0, new: 0, replaced: 0, unchanged: 0 };
  const rows = withoutRepeatedSteps(points);
  const keys = [...new Set(rows.map((row) => row.key))];
  const maxKeys = options.maxKeys ?? env().SCALEBOARD_MAX_METRIC_KEYS;
  return rawTransaction(db, (session) => writePoints(session, runId, rows, keys, maxKeys));
}

/** ingestPoints inside the caller's transaction `tx`. */
export async function ingestPointsInTransaction(
  tx: Prisma.TransactionClient,
  runId: string,
  points: MetricPointInput[],
  options: { maxKeys?: number } = {},
): Promise<IngestCounts> {
  if (points.length === 0) return { stored: 0, new: 0, replaced: 0, unchanged: 0 };
  const rows = withoutRepeatedSteps(points);
  const keys = [...new Set(rows.map((row) => row.key))];
  const maxKeys = options.maxKeys ?? env().SCALEBOARD_MAX_METRIC_KEYS;
  return writePoints(prismaSession(tx), runId, rows, keys, maxKeys);
}

async function writePoints(
  session: SqlSession,
  runId: string,
  rows: MetricPointInput[],
  keys: string[],
  maxKeys: number,
): Promise<IngestCounts> {
  const series = await lockSeries(session, runId, keys);
  if (series.some((row) => row.created)) await assertKeysFit(session, runId, series, maxKeys);
  const byKey = new Map(series.map((row) => [row.key, row]));
  // The batch's points per (series, chunk), in step order.
  const incoming = new Map<string, { series: LockedSeries; chunk: number; points: StoredPoint[] }>();
  for (const row of rows) {
    const owner = byKey.get(row.key)!;
    const chunk = chunkOf(row.step);
    const name = `${owner.number}/${chunk}`;
    let group = incoming.get(name);
    if (!group) {
      group = { series: owner, chunk, points: [] };
      incoming.set(name, group);
    }
    group.points.push({ step: row.step, value: row.value, wallTime: row.wallTime ?? null });
  }
  const groups = [...incoming.values()];
  for (const group of groups) {
    const sorted = group.points.every((point, index) => index === 0 || group.points[index - 1]!.step < point.step);
    if (!sorted) group.points.sort((a, b) => a.step - b.step);
  }
  // Training appends: a batch's points for a chunk holding the series' last step, all after it, are
  // appended in PostgreSQL from the chunk's summary alone (its points are not read).
  const counts = { stored: 0, new: 0, replaced: 0, unchanged: 0 };
  const appendable = groups.filter(
    ({ series: owner, chunk, points }) =>
      owner.pointCount > 0 && chunkOf(owner.lastStep!) === chunk && points[0]!.step > owner.lastStep!,
  );
  const heads = await readChunkHeads(
    session,
    appendable.map((group) => group.series.number),
    appendable.map((group) => group.chunk),
  );
  const headByName = new Map(heads.map((head) => [`${head.seriesNumber}/${head.chunk}`, head]));
  const appends: ChunkAppend[] = [];
  const appended = new Set<(typeof groups)[number]>();
  for (const group of appendable) {
    const head = headByName.get(`${group.series.number}/${group.chunk}`);
    const append = head ? appendChunk(head, group.points) : null;
    if (!append) continue;
    appends.push(append);
    appended.add(group);
    counts.new += group.points.length;
  }
  // Only a chunk within the series' stored step range can exist.
  const maybeStored = groups.filter(
    (group) =>
      !appended.has(group) &&
      group.series.pointCount > 0 &&
      group.chunk * CHUNK_STEPS <= group.series.lastStep! &&
      group.chunk * CHUNK_STEPS + CHUNK_STEPS - 1 >= group.series.firstStep!,
  );
  const stored = await readChunks(
    session,
    maybeStored.map((group) => group.series.number),
    maybeStored.map((group) => group.chunk),
  );
  const storedByName = new Map(stored.map((chunk) => [`${chunk.seriesNumber}/${chunk.chunk}`, chunk]));

  const replacedIn = new Set<number>();
  const addedTo = new Map<number, number>();
  for (const group of appended)
    addedTo.set(group.series.number, (addedTo.get(group.series.number) ?? 0) + group.points.length);
  const written: ChunkRow[] = [];
  for (const group of groups) {
    if (appended.has(group)) continue;
    const before = storedByName.get(`${group.series.number}/${group.chunk}`);
    const merged = before
      ? mergePoints(decodeChunk(before), group.points)
      : { points: group.points, added: group.points.length, replaced: 0 };
    const unchanged = group.points.length - merged.added - merged.replaced;
    counts.new += merged.added;
    counts.replaced += merged.replaced;
    counts.unchanged += unchanged;
    if (merged.replaced > 0) replacedIn.add(group.series.number);
    addedTo.set(group.series.number, (addedTo.get(group.series.number) ?? 0) + merged.added);
    if (merged.added + merged.replaced > 0) written.push(encodeChunk(group.series.number, group.chunk, merged.points));
  }
  counts.stored = counts.new + counts.replaced;
  // The writes go out together (one round trip on a pipelined session) and run in this order: a
  // recomputed summary reads the chunks written before it.
  await Promise.all([
    appendToChunks(session, appends),
    writeChunks(session, written),
    writeSeriesSummaries(
      session,
      series
        .filter((row) => !replacedIn.has(row.number))
        .filter((row) => (addedTo.get(row.number) ?? 0) > 0)
        .map((row) =>
          appendedSummary(
            row,
            addedTo.get(row.number)!,
            groups.filter((group) => group.series === row),
          ),
        ),
    ),
    replacedIn.size > 0
      ? recomputeSeriesSummaries(session, Prisma.sql`s2.number = ANY(${[...replacedIn]}::int[])`)
      : null,
  ]);
  return counts;
}

/**
 * A chunk's stored points with the batch's merged in (a batch's value wins at a step both hold),
 * counting the batch's new points and those that changed a stored one.
 */
function mergePoints(
  before: StoredPoint[],
  batch: StoredPoint[],
): { points: StoredPoint[]; added: number; replaced: number } {
  const points: StoredPoint[] = [];
  let added = 0;
  let replaced = 0;
  let at = 0;
  for (const point of batch) {
    while (at < before.length && before[at]!.step < point.step) points.push(before[at++]!);
    if (at < before.length && before[at]!.step === point.step) {
      const old = before[at++]!;
      const sameWallTime =
        old.wallTime === null || point.wallTime === null
          ? old.wallTime === point.wallTime
          : sameValue(old.wallTime, point.wallTime);
      if (!sameValue(old.value, point.value) || !sameWallTime) replaced++;
    } else added++;
    points.push(point);
  }
  while (at < before.length) points.push(before[at++]!);
  return { points, added, replaced };
}

/**
 * A series' summary after a batch that replaced none of its points added `added` new ones: exact
 * without reading its chunks (the batch's other points were stored already with the same values).
 */
function appendedSummary(row: LockedSeries, added: number, groups: { points: StoredPoint[] }[]): SeriesSummary {
  const summary: SeriesSummary = {
    number: row.number,
    pointCount: row.pointCount + added,
    firstStep: row.firstStep,
    lastStep: row.lastStep,
    lastValue: row.lastValue,
    minValue: row.minValue,
    maxValue: row.maxValue,
  };
  if (row.pointCount === 0)
    Object.assign(summary, { firstStep: null, lastStep: null, lastValue: null, minValue: null, maxValue: null });
  for (const group of groups) {
    for (const point of group.points) {
      if (summary.firstStep === null || point.step < summary.firstStep) summary.firstStep = point.step;
      if (summary.lastStep === null || point.step > summary.lastStep) {
        summary.lastStep = point.step;
        summary.lastValue = point.value;
      }
      if (!Number.isFinite(point.value)) continue;
      if (summary.minValue === null || point.value < summary.minValue) summary.minValue = point.value;
      if (summary.maxValue === null || point.value > summary.maxValue) summary.maxValue = point.value;
    }
  }
  return summary;
}

/**
 * Refuses a batch that would give the run more than `limit` distinct metric keys: called when the
 * batch created series (`created`), inside its transaction, so throwing stores none of the batch
 * and removes the series it created (points for keys the run has go in as before). The usual batch
 * (keys already logged) costs nothing here. Batches racing to add a run's last keys may each see
 * room and overshoot the limit by their size.
 */
async function assertKeysFit(session: SqlSession, runId: string, locked: LockedSeries[], limit: number): Promise<void> {
  const [{ count } = { count: 0 }] = await session.rows<{ count: number }>(
    Prisma.sql`SELECT count(*)::int AS count FROM "MetricSeries" WHERE "runId" = ${runId}`,
  );
  const created = locked.filter((row) => row.created);
  if (count <= limit) return;
  const first = [...created].sort((a, b) => a.key.localeCompare(b.key))[0]!;
  throw new AppError(
    "TOO_LARGE",
    `a run has at most ${limit} distinct metric keys (SCALEBOARD_MAX_METRIC_KEYS): this run has ${count - created.length} and the batch adds ${created.length} new (first: "${first.key.slice(0, 100)}"); nothing of the batch was stored, points for the run's existing keys are still accepted`,
  );
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

/** Ingests for a worker's attempt only while that attempt owns the run, so a worker presumed dead cannot write over its successor. */
export async function ingestPointsForAttempt(
  db: Db,
  runId: string,
  attempt: number,
  points: MetricPointInput[],
): Promise<boolean> {
  if (points.length === 0) return true;
  const rows = withoutRepeatedSteps(points);
  const keys = [...new Set(rows.map((row) => row.key))];
  const maxKeys = env().SCALEBOARD_MAX_METRIC_KEYS;
  return rawTransaction(db, async (session) => {
    const owner = await session.rows(Prisma.sql`/* prepared: attempt owns run */
        SELECT 1 FROM "Run" WHERE id = ${runId} AND attempt = ${attempt} AND status = 'running' FOR SHARE`);
    if (owner.length === 0) return false;
    const step = rows.reduce((max, point) => Math.max(max, point.step), 0);
    await Promise.all([
      writePoints(session, runId, rows, keys, maxKeys),
      // Delivered at commit, so only when the points are stored.
      session.rows(Prisma.sql`SELECT pg_notify('scaleboard_runs', ${JSON.stringify({ runId, step, keys })})`),
    ]);
    return true;
  });
}

/**
 * Before an attempt resumes from a checkpoint at `step` (or starts over: null), the points its
 * predecessor logged later are removed, so the series ends up with each step exactly once; the
 * chunk holding `step` is cut there and every series' summary recomputed from what is left.
 */
export async function discardPointsAfter(db: Db, runId: string, step: number | null): Promise<void> {
  const after = step ?? -1;
  await db.$transaction(
    async (tx) => {
      const series = await tx.$queryRaw<{ number: number }[]>`
        SELECT number FROM "MetricSeries" WHERE "runId" = ${runId} ORDER BY key FOR UPDATE`;
      const numbers = series.map((row) => row.number);
      if (numbers.length === 0) return;
      const cut = chunkOf(after + 1);
      await tx.$executeRaw`DELETE FROM "MetricChunk" WHERE "seriesNumber" = ANY(${numbers}::int[]) AND chunk > ${cut}::int`;
      if (after >= 0 && (after + 1) % CHUNK_STEPS !== 0) {
        const partial = await readChunks(
          prismaSession(tx),
          numbers,
          numbers.map(() => cut),
        );
        const kept: ChunkRow[] = [];
        const emptied: number[] = [];
        for (const chunk of partial) {
          if (chunk.lastStep <= after) continue;
          const points = decodeChunk(chunk).filter((point) => point.step <= after);
          if (points.length > 0) kept.push(encodeChunk(chunk.seriesNumber, chunk.chunk, points));
          else emptied.push(chunk.seriesNumber);
        }
        await writeChunks(prismaSession(tx), kept);
        if (emptied.length > 0)
          await tx.$executeRaw`DELETE FROM "MetricChunk" WHERE "seriesNumber" = ANY(${emptied}::int[]) AND chunk = ${cut}::int`;
      } else {
        await tx.$executeRaw`DELETE FROM "MetricChunk" WHERE "seriesNumber" = ANY(${numbers}::int[]) AND chunk = ${cut}::int`;
      }
      await recomputeSeriesSummaries(prismaSession(tx), Prisma.sql`s2.number = ANY(${numbers}::int[])`);
    },
    { timeout: 600_000, maxWait: 60_000 },
  );
}
