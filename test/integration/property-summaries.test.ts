import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discardPointsAfter, ingestPoints, ingestPointsForAttempt } from "../../server/domain/metrics/ingest-points.ts";
import { toChartValue } from "../../server/domain/metrics/chart-value.ts";
import { querySeries } from "../../server/domain/metrics/query-series.ts";
import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { rebuildSummaries } from "../../server/domain/metrics/write-summaries.ts";
import { createExperiment, createTeamWith } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * The chunked store (chunk-codec.ts) against a plain row-per-point reference kept here from the same
 * writes: for any sequence of batches (steps in any order, repeats across and inside batches, ties,
 * NaN and the infinities, -0), resent batches, a worker's attempt and a resume that discards points
 * after a checkpoint, every read answers what the reference does: the points (value and wall time,
 * bit for bit), each series' count, first and last step, last value, minimum and maximum (the best),
 * each batch's new/replaced/unchanged counts, any window at full resolution, and the chunk summaries
 * equal to those rebuilt from the stored points.
 */

let database: TestDatabase;
let experimentId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const team = await createTeamWith(database.db);
  experimentId = await createExperiment(database.db, team.id);
});
afterAll(async () => {
  await database?.drop();
});

// Few distinct values, so ties for the minimum and maximum are common.
const value = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(-1, 0, -0, 0.5, 1, 2) },
  { weight: 4, arbitrary: fc.double({ min: -5, max: 5, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
);
const point = fc.record({
  key: fc.constantFrom("loss", "acc"),
  step: fc.oneof(
    fc.integer({ min: 0, max: 20 }),
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 0, max: 200_000 }),
  ),
  value,
});
// Batches in any order, or in step order as training logs them (a repeated step then comes right after itself).
const batch = fc.array(point, { minLength: 1, maxLength: 60 }).chain((points) =>
  fc.constantFrom(
    points,
    [...points].sort((a, b) => a.step - b.step),
  ),
);
/** What happens to a run: batches over HTTP, a resend of an earlier batch, a worker's attempt, a resume discarding later points. */
const operation = fc.oneof(
  { weight: 6, arbitrary: batch.map((points) => ({ kind: "ingest" as const, points })) },
  { weight: 2, arbitrary: fc.nat().map((index) => ({ kind: "resend" as const, index })) },
  { weight: 2, arbitrary: batch.map((points) => ({ kind: "attempt" as const, points })) },
  {
    weight: 1,
    arbitrary: fc
      .option(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 200_000 })), { nil: null })
      .map((step) => ({ kind: "discard" as const, step })),
  },
);
const operations = fc.array(operation, { minLength: 1, maxLength: 8 });

type Point = { key: string; step: number; value: number; wallTime?: number };
type Stored = { value: number; wallTime: number | null };

/** The plain reference: one entry a (key, step), the last write winning. */
class RowPerPoint {
  rows = new Map<string, Map<number, Stored>>();
  write(points: Point[]) {
    const counts = { stored: 0, new: 0, replaced: 0, unchanged: 0 };
    const unique = new Map<string, Point>();
    for (const point of points) unique.set(`${point.key}\u0000${point.step}`, point);
    for (const point of unique.values()) {
      const series = this.rows.get(point.key) ?? new Map<number, Stored>();
      this.rows.set(point.key, series);
      const before = series.get(point.step);
      const wallTime = point.wallTime ?? null;
      if (!before) counts.new++;
      else if (Object.is(before.value, point.value) && Object.is(before.wallTime, wallTime)) counts.unchanged++;
      else counts.replaced++;
      series.set(point.step, { value: point.value, wallTime });
    }
    counts.stored = counts.new + counts.replaced;
    return counts;
  }
  discardAfter(step: number | null) {
    for (const series of this.rows.values())
      for (const at of [...series.keys()]) if (at > (step ?? -1)) series.delete(at);
  }
  points() {
    return [...this.rows.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .flatMap(([key, series]) =>
        [...series.entries()].sort(([a], [b]) => a - b).map(([step, stored]) => ({ key, step, ...stored })),
      );
  }
  summary(key: string) {
    const entries = [...(this.rows.get(key) ?? new Map<number, Stored>()).entries()].sort(([a], [b]) => a - b);
    const finite = entries.map(([, stored]) => stored.value).filter(Number.isFinite);
    return {
      pointCount: entries.length,
      firstStep: entries[0]?.[0] ?? null,
      lastStep: entries.at(-1)?.[0] ?? null,
      lastValue: entries.at(-1)?.[1].value ?? null,
      minValue: finite.length ? Math.min(...finite) : null,
      maxValue: finite.length ? Math.max(...finite) : null,
    };
  }
}

/** -0 and 0 compare equal for a minimum or maximum (which of two equal extremes is kept is not specified). */
const zeroless = (value: number | null) => (value === 0 ? 0 : value);

async function chunkSummaries(runId: string) {
  return database.db.$queryRaw<Record<string, unknown>[]>`
    SELECT c.chunk, c.count, c."firstStep", c."lastStep", c."firstValue", c."lastValue", c."minValue", c."maxValue",
           c."minStep", c."maxStep", c."nonFiniteStep", c."stepOffsets", c."pointValues", c."wallTimes", c."m4Fine", c."m4Coarse", s.key
    FROM "MetricChunk" c JOIN "MetricSeries" s ON s.number = c."seriesNumber" WHERE s."runId" = ${runId}
    ORDER BY s.key, c.chunk`;
}

describe("chunked store against a row-per-point reference (properties)", () => {
  it("answers every read as the reference after any sequence of batches, resends, attempts and resumes", async () => {
    await fc.assert(
      fc.asyncProperty(operations, fc.boolean(), async (sequence, withWallTimes) => {
        const { db } = database;
        const run = await db.run.create({
          data: {
            experimentId,
            name: "r",
            cellHash: randomBytes(8).toString("hex"),
            config: {},
            status: "running",
            attempt: 1,
          },
          select: { id: true },
        });
        const reference = new RowPerPoint();
        const sent: Point[][] = [];
        const stamp = (points: Point[]) =>
          withWallTimes
            ? points.map((point, index) => ({ ...point, wallTime: 1.7e9 + point.step + (index % 3) }))
            : points;
        for (const operation of sequence) {
          if (operation.kind === "discard") {
            await discardPointsAfter(db, run.id, operation.step);
            reference.discardAfter(operation.step);
            continue;
          }
          const points =
            operation.kind === "resend"
              ? (sent[operation.index % Math.max(sent.length, 1)] ?? [])
              : stamp(operation.points);
          if (points.length === 0) continue;
          sent.push(points);
          const expected = reference.write(points);
          if (operation.kind === "attempt") expect(await ingestPointsForAttempt(db, run.id, 1, points)).toBe(true);
          else expect(await ingestPoints(db, run.id, points)).toEqual(expected);
        }
        const stored = await readLoggedPoints(db, { runId: run.id });
        expect(stored).toEqual(reference.points());
        const series = await db.metricSeries.findMany({
          where: { runId: run.id },
          select: {
            key: true,
            pointCount: true,
            firstStep: true,
            lastStep: true,
            lastValue: true,
            minValue: true,
            maxValue: true,
          },
        });
        for (const row of series) {
          const expected = reference.summary(row.key);
          expect({ ...row, minValue: zeroless(row.minValue), maxValue: zeroless(row.maxValue) }).toEqual({
            key: row.key,
            ...expected,
            minValue: zeroless(expected.minValue),
            maxValue: zeroless(expected.maxValue),
          });
          if (expected.pointCount === 0) continue;
          const { series: answered } = await querySeries(db, { runIds: [run.id], key: row.key, points: 5000 });
          const logged = reference.points().filter((point) => point.key === row.key);
          expect(answered[0]).toMatchObject({ total: logged.length, downsampled: false });
          expect(answered[0]!.points).toEqual(logged.map((point) => ({ x: point.step, y: toChartValue(point.value) })));
        }
        const written = await chunkSummaries(run.id);
        await rebuildSummaries(
          db,
          (await db.metricSeries.findMany({ where: { runId: run.id }, select: { id: true } })).map((row) => row.id),
        );
        expect(
          (await chunkSummaries(run.id)).map(({ sumValue: _, ...row }) => row),
          "chunk summaries equal those rebuilt from the points",
        ).toEqual(written.map(({ sumValue: _, ...row }) => row));
      }),
      { numRuns: 40 },
    );
  });

  it("recomputes the best after a replaced value (val/loss 1.0, 0.5, 0.8, then 0.9 at step 1)", async () => {
    const { db } = database;
    const run = await db.run.create({
      data: { experimentId, name: "best", cellHash: randomBytes(8).toString("hex"), config: {} },
      select: { id: true },
    });
    await ingestPoints(db, run.id, [
      { key: "val/loss", step: 0, value: 1 },
      { key: "val/loss", step: 1, value: 0.5 },
      { key: "val/loss", step: 2, value: 0.8 },
    ]);
    expect(await ingestPoints(db, run.id, [{ key: "val/loss", step: 1, value: 0.9 }])).toEqual({
      stored: 1,
      new: 0,
      replaced: 1,
      unchanged: 0,
    });
    expect(
      await db.metricSeries.findFirstOrThrow({
        where: { runId: run.id, key: "val/loss" },
        select: { minValue: true, maxValue: true, lastValue: true, pointCount: true },
      }),
    ).toEqual({ minValue: 0.8, maxValue: 1, lastValue: 0.8, pointCount: 3 });
    expect(await ingestPoints(db, run.id, [{ key: "val/loss", step: 1, value: 0.9 }])).toEqual({
      stored: 0,
      new: 0,
      replaced: 0,
      unchanged: 1,
    });
  });

  it("keeps NaN, +Infinity, -Infinity and -0 distinct in storage", async () => {
    const { db } = database;
    const run = await db.run.create({
      data: { experimentId, name: "odd", cellHash: randomBytes(8).toString("hex"), config: {} },
      select: { id: true },
    });
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0];
    await ingestPoints(
      db,
      run.id,
      values.map((value, step) => ({ key: "x", step, value })),
    );
    expect((await readLoggedPoints(db, { runId: run.id })).map((point) => point.value)).toEqual(values);
  });
});
