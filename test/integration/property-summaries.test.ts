import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { rebuildSummaries } from "../../server/domain/metrics/write-summaries.ts";
import { createTeamWith } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * Ingest merges a batch of new points into the stored summaries instead of recomputing them, and
 * recomputes when a batch replaced a value: for any sequence of batches (steps in any order, repeats
 * across and inside batches, ties, NaN and infinities), every level must equal the summaries rebuilt
 * from the stored points, each step must hold the value written last, and each series' count, first
 * and last step and last value must match its points.
 */

let database: TestDatabase;
let experimentId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const team = await createTeamWith(database.db);
  const project = await database.db.project.create({ data: { teamId: team.id, name: "P", slug: "p" }, select: { id: true } });
  experimentId = (await database.db.experiment.create({ data: { projectId: project.id, name: "E" }, select: { id: true } })).id;
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
const point = fc.record({ key: fc.constantFrom("loss", "acc"), step: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 200_000 })), value });
// Batches in any order, or in step order as training logs them (a repeated step then comes right after itself).
const batch = fc.array(point, { minLength: 1, maxLength: 60 }).chain((points) => fc.constantFrom(points, [...points].sort((a, b) => a.step - b.step)));
const batches = fc.array(batch, { minLength: 1, maxLength: 6 });

async function summaries(runId: string, asExpected = false) {
  const rows = await database.db.$queryRaw<Record<string, unknown>[]>`
    SELECT m.* FROM "MetricSummary" m JOIN "MetricSeries" s ON s.id = m."seriesId" WHERE s."runId" = ${runId}
    ORDER BY m."seriesId", m.level, m.bucket`;
  // Sums depend on the order of additions (values here are at most 5 in size, so the difference is
  // far below 1e-9); everything else must match exactly.
  if (!asExpected) return rows;
  return rows.map(({ sumValue, ...row }) => ({ ...row, sumValue: Number.isFinite(sumValue) ? expect.closeTo(sumValue as number, 9) : sumValue }));
}

describe("summaries written at ingest (properties)", () => {
  it("equal the summaries rebuilt from the points after any sequence of batches", async () => {
    await fc.assert(
      fc.asyncProperty(batches, async (sequence) => {
        const { db } = database;
        const run = await db.run.create({ data: { experimentId, name: "r", cellHash: randomBytes(8).toString("hex"), config: {} }, select: { id: true } });
        for (const batch of sequence) await ingestPoints(db, run.id, batch);
        const written = await summaries(run.id, true);
        const series = await db.metricSeries.findMany({ where: { runId: run.id }, select: { id: true, pointCount: true, firstStep: true, lastStep: true, lastValue: true } });
        // -0 is stored as 0.
        const lastWritten = new Map(sequence.flat().map((point) => [`${point.key}/${point.step}`, point.value === 0 ? 0 : point.value]));
        const stored = await db.metricPoint.findMany({ where: { series: { runId: run.id } }, select: { step: true, value: true, series: { select: { key: true } } } });
        expect(new Map(stored.map((point) => [`${point.series.key}/${point.step}`, point.value]))).toEqual(lastWritten);
        for (const row of series) {
          const points = await db.metricPoint.findMany({ where: { seriesId: row.id }, orderBy: { step: "asc" }, select: { step: true, value: true } });
          expect(row).toEqual({ id: row.id, pointCount: points.length, firstStep: points[0]!.step, lastStep: points.at(-1)!.step, lastValue: points.at(-1)!.value });
        }
        await rebuildSummaries(db, series.map((row) => row.id));
        expect(await summaries(run.id)).toEqual(written);
      }),
      { numRuns: 40 },
    );
  });
});
