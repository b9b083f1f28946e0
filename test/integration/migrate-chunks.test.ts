import { cp, mkdtemp, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, migrateDatabase } from "../../server/database/migrate.ts";
import { createDb, type Db } from "../../server/db.ts";
import { querySeries } from "../../server/domain/metrics/query-series.ts";
import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { float8Text, numberArrayLiteral, rebuildSummaries } from "../../server/domain/metrics/write-summaries.ts";
import { createTeamWith } from "../helpers/actors.ts";
import { createEmptyDatabase } from "../helpers/database.ts";

/**
 * The migration to chunked storage on a database filled through the row-per-point layout before it:
 * series and points written with the statements the previous ingest ran (LEAST/GREATEST merged into
 * the series row, so a replaced minimum is left stale there), then migrated. Every point must come
 * back bit for bit, every series summary must be exact, and the chunks the SQL migration wrote must
 * equal what the application's encoder writes from the same points.
 */

const CHUNKS = "20261203180636_metric_chunks";
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

type OldPoint = { key: string; step: number; value: number; wallTime: number | null };

/** What the previous ingest-points.ts did for one batch of one key with distinct steps (without summaries: the migration drops them). */
async function oldIngest(db: Db, runId: string, points: OldPoint[]): Promise<void> {
  const key = points[0]!.key;
  const id = `s${runId}/${key}`;
  const last = points.reduce((found, point) => (point.step > found.step ? point : found));
  const finite = points.map((point) => point.value).filter(Number.isFinite);
  await db.$executeRaw`
    INSERT INTO "MetricSeries" AS s (id, "runId", key, "pointCount", "firstStep", "lastStep", "lastValue", "minValue", "maxValue", "updatedAt")
    VALUES (${id}, ${runId}, ${key}, 0, ${Math.min(...points.map((point) => point.step))}, ${last.step}, ${float8Text(last.value)}::float8,
            ${finite.length ? Math.min(...finite) : null}::float8, ${finite.length ? Math.max(...finite) : null}::float8, now())
    ON CONFLICT ("runId", key) DO UPDATE SET
      "firstStep" = LEAST(s."firstStep", EXCLUDED."firstStep"),
      "lastStep" = GREATEST(s."lastStep", EXCLUDED."lastStep"),
      "lastValue" = CASE WHEN EXCLUDED."lastStep" >= s."lastStep" THEN EXCLUDED."lastValue" ELSE s."lastValue" END,
      "minValue" = LEAST(s."minValue", EXCLUDED."minValue"),
      "maxValue" = GREATEST(s."maxValue", EXCLUDED."maxValue")`;
  await db.$executeRaw`
    WITH written AS (
      INSERT INTO "MetricPoint" ("seriesId", step, value, "wallTime")
      SELECT ${id}, t.step, t.value, t.wall_time
      FROM unnest(${numberArrayLiteral(points.map((point) => point.step))}::int[], ${numberArrayLiteral(points.map((point) => point.value))}::float8[],
                  ${numberArrayLiteral(points.map((point) => point.wallTime))}::float8[]) AS t(step, value, wall_time)
      ON CONFLICT ("seriesId", step) DO UPDATE SET value = EXCLUDED.value, "wallTime" = EXCLUDED."wallTime"
      RETURNING (xmax = 0) AS inserted
    )
    UPDATE "MetricSeries" SET "pointCount" = "pointCount" + (SELECT count(*) FILTER (WHERE inserted) FROM written)::int WHERE id = ${id}`;
}

describe(`migration ${CHUNKS}`, () => {
  it("converts a database filled through the row-per-point layout, points bit for bit and summaries exact", async () => {
    const database = await createEmptyDatabase();
    cleanups.push(database.drop);
    const before = await mkdtemp(path.join(os.tmpdir(), "sb-before-chunks-"));
    for (const name of await readdir(DEFAULT_MIGRATIONS_DIR))
      if (name < CHUNKS)
        await cp(path.join(DEFAULT_MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
    await migrateDatabase(database.url, { migrationsDir: before });

    const db = createDb(database.url);
    cleanups.push(() => db.$disconnect());
    const team = await createTeamWith(db);
    const project = await db.project.create({ data: { teamId: team.id, name: "P", slug: "p" }, select: { id: true } });
    const experiment = await db.experiment.create({ data: { projectId: project.id, name: "E" }, select: { id: true } });
    const run = await db.run.create({
      data: { experimentId: experiment.id, name: "r", cellHash: "c1", config: {} },
      select: { id: true },
    });

    const written: OldPoint[] = [];
    // A dense series across three chunks (its 64- and 256-step buckets are kept), with a spike and a gap.
    for (let step = 0; step < 3000; step++)
      written.push({
        key: "train/loss",
        step,
        value: step === 1500 ? 50 : step === 2222 ? Number.NaN : 2 / (1 + step / 100),
        wallTime: step % 7 === 0 ? null : 1.7e9 + step * 0.25,
      });
    // A sparse series with every non-finite value and -0.
    [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1e300, -1e-300].forEach((value, index) => {
      written.push({ key: "odd", step: index * 777, value, wallTime: null });
    });
    // The case: val/loss 1.0, 0.5, 0.8, then 0.9 at step 1; the old series row keeps 0.5 as the best.
    for (const [step, value] of [
      [0, 1],
      [1, 0.5],
      [2, 0.8],
      [1, 0.9],
    ] as const)
      written.push({ key: "val/loss", step, value, wallTime: null });
    for (const key of ["train/loss", "odd"]) {
      const ofKey = written.filter((point) => point.key === key);
      for (let start = 0; start < ofKey.length; start += 500)
        await oldIngest(db, run.id, ofKey.slice(start, start + 500));
    }
    const valLoss = written.filter((point) => point.key === "val/loss");
    await oldIngest(db, run.id, valLoss.slice(0, 3));
    await oldIngest(db, run.id, valLoss.slice(3));
    const stale = await db.$queryRaw<{ minValue: number }[]>`
      SELECT "minValue" FROM "MetricSeries" WHERE "runId" = ${run.id} AND key = 'val/loss'`;
    expect(stale[0]?.minValue).toBe(0.5);

    const result = await migrateDatabase(database.url);
    expect(result.applied[0]).toBe(CHUNKS);

    const lastWritten = new Map<string, OldPoint>();
    for (const point of written) lastWritten.set(`${point.key}\u0000${point.step}`, point);
    const expected = [...lastWritten.values()].sort((a, b) =>
      a.key === b.key ? a.step - b.step : a.key < b.key ? -1 : 1,
    );
    expect(await readLoggedPoints(db, { runId: run.id })).toEqual(expected);

    const series = await db.metricSeries.findMany({
      where: { runId: run.id },
      orderBy: { key: "asc" },
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
    expect(series).toEqual([
      {
        key: "odd",
        pointCount: 6,
        firstStep: 0,
        lastStep: 3885,
        lastValue: -1e-300,
        minValue: -1e-300,
        maxValue: 1e300,
      },
      {
        key: "train/loss",
        pointCount: 3000,
        firstStep: 0,
        lastStep: 2999,
        lastValue: 2 / (1 + 2999 / 100),
        minValue: 2 / (1 + 2999 / 100),
        maxValue: 50,
      },
      { key: "val/loss", pointCount: 3, firstStep: 0, lastStep: 2, lastValue: 0.8, minValue: 0.8, maxValue: 1 },
    ]);

    const chunks = () => db.$queryRaw<Record<string, unknown>[]>`
      SELECT c.* FROM "MetricChunk" c JOIN "MetricSeries" s ON s.number = c."seriesNumber" WHERE s."runId" = ${run.id}
      ORDER BY c."seriesNumber", c.chunk`;
    const migrated = await chunks();
    expect(migrated.filter((row) => row.m4Fine !== null)).toHaveLength(3);
    await rebuildSummaries(
      db,
      (await db.metricSeries.findMany({ where: { runId: run.id }, select: { id: true } })).map((row) => row.id),
    );
    // Sums depend on the order of additions; every other column, buffers included, must be equal.
    const withoutSums = (rows: Record<string, unknown>[]) => rows.map(({ sumValue: _, ...row }) => row);
    expect(withoutSums(migrated)).toEqual(withoutSums(await chunks()));

    const { series: chart } = await querySeries(db, { runIds: [run.id], key: "train/loss", points: 400 });
    expect(chart[0]).toMatchObject({ downsampled: true, total: 3000 });
    expect(chart[0]!.points).toContainEqual({ x: 1500, y: 50 });
    expect(chart[0]!.points).toContainEqual({ x: 2222, y: "NaN" });
  });
});
