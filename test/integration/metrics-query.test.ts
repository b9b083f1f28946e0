import { randomBytes } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricsRouter } from "../../server/api/routers/metrics.ts";
import { createCallerFactory, createTRPCContext, router } from "../../server/api/trpc.ts";
import type { Actor } from "../../server/domain/access/actor.ts";
import { toChartValue } from "../../server/domain/metrics/chart-value.ts";
import { downsample } from "../../server/domain/metrics/downsample.ts";
import {
  discardPointsAfter,
  ingestPoints,
  ingestPointsForAttempt,
  type MetricPointInput,
} from "../../server/domain/metrics/ingest-points.ts";
import { querySeries } from "../../server/domain/metrics/query-series.ts";
import { rebuildSummaries } from "../../server/domain/metrics/write-summaries.ts";
import { createTeamWith, createUser, keyActor, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

const createCaller = createCallerFactory(router({ metrics: metricsRouter }));

let database: TestDatabase;
let fixture: Awaited<ReturnType<typeof buildFixture>>;

/** Run A's train/loss: a smooth decay with a spike, a dip and two gaps. */
function lossAt(step: number): number {
  if (step === 12_345) return 100;
  if (step === 3_001) return -7;
  if (step === 15_000) return Number.NaN;
  if (step === 17_777) return Number.POSITIVE_INFINITY;
  return 2 / (1 + step / 1000) + 0.01 * Math.sin(step * 0.7);
}

const A_STEPS = 20_000;

async function buildFixture() {
  const { db } = database;
  const [viewer, outsider] = await Promise.all([createUser(db, "Vera"), createUser(db, "Otto")]);
  const team = await createTeamWith(db, { [viewer.id]: "viewer" });
  const otherTeam = await createTeamWith(db, { [outsider.id]: "admin" });
  const experimentIn = async (teamId: string) => {
    const project = await db.project.create({
      data: { teamId, name: "P", slug: `p-${randomBytes(3).toString("hex")}` },
      select: { id: true },
    });
    return db.experiment.create({ data: { projectId: project.id, name: "E" }, select: { id: true } });
  };
  const experiment = await experimentIn(team.id);
  const foreignExperiment = await experimentIn(otherTeam.id);
  const newRun = (experimentId: string, name: string) =>
    db.run.create({
      data: { experimentId, name, cellHash: randomBytes(8).toString("hex"), config: {} },
      select: { id: true },
    });
  const runA = await newRun(experiment.id, "a");
  const runB = await newRun(experiment.id, "b");
  const runEmpty = await newRun(experiment.id, "empty");
  const foreignRun = await newRun(foreignExperiment.id, "foreign");

  // Run A arrives as a worker sends it: batches of 1,000 steps, two keys at the same steps.
  for (let start = 0; start < A_STEPS; start += 1000) {
    const batch: MetricPointInput[] = [];
    for (let step = start; step < start + 1000; step++) {
      batch.push({ key: "train/loss", step, value: lossAt(step) });
      batch.push({ key: "flops", step, value: step * 1e9 });
    }
    await ingestPoints(db, runA.id, batch);
  }
  // Run B: 500 points, every 10 steps.
  await ingestPoints(
    db,
    runB.id,
    Array.from({ length: 500 }, (_, index) => ({ key: "train/loss", step: index * 10, value: 1 / (1 + index) })),
  );
  await ingestPoints(db, foreignRun.id, [{ key: "train/loss", step: 0, value: 1 }]);
  const runKeys = await newRun(experiment.id, "keys");
  await ingestPoints(
    db,
    runKeys.id,
    Array.from({ length: 5 }, (_, index) => ({ key: `k/${index}`, step: 0, value: index })),
  );

  const actors = {
    viewer: userActor(viewer.id),
    outsider: userActor(outsider.id),
    ingestKey: await keyActor(db, team.id, viewer.id, "ingest"),
  } satisfies Record<string, Actor>;
  return {
    runA: runA.id,
    runB: runB.id,
    runEmpty: runEmpty.id,
    runKeys: runKeys.id,
    foreignRun: foreignRun.id,
    experimentId: experiment.id,
    actors,
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  fixture = await buildFixture();
});
afterAll(async () => {
  await database?.drop();
});

function caller(actor: Actor | null) {
  return createCaller(createTRPCContext({ db: database.db, actor }));
}

async function summaryRows(runId: string) {
  return database.db.$queryRaw<Record<string, unknown>[]>`
    SELECT s.id AS "seriesId", c.chunk, c.count, c."firstStep", c."lastStep", c."firstValue", c."lastValue", c."minValue", c."maxValue", c."sumValue",
           c."minStep", c."maxStep", c."nonFiniteStep", c."m4Fine", c."m4Coarse"
    FROM "MetricChunk" c JOIN "MetricSeries" s ON s.number = c."seriesNumber" WHERE s."runId" = ${runId}
    ORDER BY s.id, c.chunk`;
}

function comparable(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  // Sums depend on the order of additions; everything else must match exactly.
  return rows.map(({ sumValue, ...row }) => ({
    ...row,
    sumValue: Number.isFinite(sumValue) ? Number((sumValue as number).toPrecision(9)) : String(sumValue),
  }));
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "OK";
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

describe("metric summaries", () => {
  it("are kept in every dense chunk", async () => {
    const [missing] = await database.db.$queryRaw<{ count: number }[]>`
      SELECT count(*)::int AS count FROM "MetricChunk" WHERE count >= 1024 AND ("m4Fine" IS NULL OR "m4Coarse" IS NULL)`;
    expect(missing?.count).toBe(0);
  });

  it("written batch by batch equal the same summaries rebuilt from the points", async () => {
    const incremental = comparable(await summaryRows(fixture.runA));
    expect(incremental.length).toBeGreaterThan(30);
    const seriesIds = (
      await database.db.metricSeries.findMany({ where: { runId: fixture.runA }, select: { id: true } })
    ).map((row) => row.id);
    await rebuildSummaries(database.db, seriesIds);
    expect(comparable(await summaryRows(fixture.runA))).toEqual(incremental);
  });

  it("are written inside the worker's transaction, and by concurrent batches of one run", async () => {
    const { db } = database;
    const experimentId = (await db.run.findUniqueOrThrow({ where: { id: fixture.runA } })).experimentId;
    const run = await db.run.create({
      data: {
        experimentId,
        name: "worker",
        cellHash: randomBytes(8).toString("hex"),
        config: {},
        status: "running",
        attempt: 1,
      },
      select: { id: true },
    });
    const batch = (from: number) =>
      Array.from({ length: 500 }, (_, index) => ({
        key: "train/loss",
        step: from + index,
        value: Math.sin(from + index),
      }));
    expect(await ingestPointsForAttempt(db, run.id, 1, batch(0))).toBe(true);
    // Batches racing through the HTTP path: every bucket must still see every point.
    await Promise.all([1000, 1500, 500, 2000, 2500, 3000].map((from) => ingestPoints(db, run.id, batch(from))));
    const written = comparable(await summaryRows(run.id));
    const seriesIds = (await db.metricSeries.findMany({ where: { runId: run.id }, select: { id: true } })).map(
      (row) => row.id,
    );
    await rebuildSummaries(db, seriesIds);
    expect(comparable(await summaryRows(run.id))).toEqual(written);
    expect(written.reduce((sum, row) => sum + (row.count as number), 0)).toBe(3500);
  });

  it("follow points discarded on resume, then new points", async () => {
    const { db } = database;
    const run = await db.run.create({
      data: {
        experimentId: (await db.run.findUniqueOrThrow({ where: { id: fixture.runA } })).experimentId,
        name: "resumed",
        cellHash: randomBytes(8).toString("hex"),
        config: {},
      },
      select: { id: true },
    });
    const points = (from: number, to: number, offset: number) =>
      Array.from({ length: to - from }, (_, index) => ({
        key: "train/loss",
        step: from + index,
        value: from + index + offset,
      }));
    await ingestPoints(db, run.id, points(0, 5000, 0));
    await discardPointsAfter(db, run.id, 2047);
    await ingestPoints(db, run.id, points(2048, 3000, 0.5));
    const incremental = comparable(await summaryRows(run.id));
    const seriesIds = (await db.metricSeries.findMany({ where: { runId: run.id }, select: { id: true } })).map(
      (row) => row.id,
    );
    await rebuildSummaries(db, seriesIds);
    expect(comparable(await summaryRows(run.id))).toEqual(incremental);
    const result = await querySeries(db, { runIds: [run.id], key: "train/loss", points: 4000 });
    expect(result.series[0]).toMatchObject({ total: 3000, downsampled: false });
    expect(result.series[0]!.points.at(-1)).toEqual({ x: 2999, y: 2999.5 });
  });
});

describe("distinct metric keys per run", () => {
  it("refuses a batch that would pass the limit, storing none of it, and still takes points for the run's keys", async () => {
    const { db } = database;
    const run = await db.run.create({
      data: {
        experimentId: fixture.experimentId,
        name: "capped",
        cellHash: randomBytes(8).toString("hex"),
        config: {},
      },
      select: { id: true },
    });
    const point = (key: string, step: number) => ({ key, step, value: step });
    await ingestPoints(db, run.id, [point("a", 0), point("b", 0)], { maxKeys: 3 });
    await ingestPoints(db, run.id, [point("a", 1), point("c", 1)], { maxKeys: 3 });

    const refused = ingestPoints(db, run.id, [point("a", 2), point("d", 2), point("e", 2)], { maxKeys: 3 });
    await expect(refused).rejects.toMatchObject({
      code: "TOO_LARGE",
      message: expect.stringContaining("at most 3 distinct metric keys (SCALEBOARD_MAX_METRIC_KEYS)"),
    });
    await ingestPoints(db, run.id, [point("a", 3), point("b", 3), point("c", 3)], { maxKeys: 3 });

    const series = await db.metricSeries.findMany({
      where: { runId: run.id },
      select: { key: true, pointCount: true },
      orderBy: { key: "asc" },
    });
    expect(series).toEqual([
      { key: "a", pointCount: 3 },
      { key: "b", pointCount: 2 },
      { key: "c", pointCount: 2 },
    ]);
  });
});

describe("metrics.series", () => {
  it("returns a long run downsampled without hiding its spike, dip or gaps, and a short run whole", async () => {
    const { series: packed } = await caller(fixture.actors.viewer).metrics.series({
      runIds: [fixture.runA, fixture.runB, fixture.runEmpty],
      key: "train/loss",
      x: "step",
      points: 1000,
    });
    // On the wire x and y are parallel arrays.
    expect(packed.every((entry) => entry.xs.length === entry.ys.length)).toBe(true);
    const series = packed.map(({ xs, ys, ...entry }) => ({
      ...entry,
      points: xs.map((x, index) => ({ x, y: ys[index] })),
    }));
    const [a, b, empty] = series;
    expect(a).toMatchObject({ runId: fixture.runA, key: "train/loss", downsampled: true, total: A_STEPS });
    expect(a!.points.length).toBeLessThanOrEqual(1000);
    expect(a!.points.length).toBeGreaterThan(500);
    expect(a!.points).toContainEqual({ x: 12_345, y: 100 });
    expect(a!.points).toContainEqual({ x: 3_001, y: -7 });
    // NaN and +Infinity stay distinct on the wire.
    expect(a!.points).toContainEqual({ x: 15_000, y: "NaN" });
    expect(a!.points).toContainEqual({ x: 17_777, y: "Infinity" });
    for (let index = 1; index < a!.points.length; index++)
      expect(a!.points[index]!.x).toBeGreaterThan(a!.points[index - 1]!.x);
    // Every point is a logged one.
    for (const point of a!.points) {
      const logged = lossAt(point.x);
      expect(point.y).toBe(toChartValue(logged));
    }
    expect(a!.points[0]).toEqual({ x: 0, y: lossAt(0) });
    expect(a!.points.at(-1)).toEqual({ x: A_STEPS - 1, y: lossAt(A_STEPS - 1) });

    expect(b).toMatchObject({ runId: fixture.runB, downsampled: false, total: 500 });
    expect(b!.points).toHaveLength(500);
    expect(b!.points[1]).toEqual({ x: 10, y: 0.5 });
    expect(empty).toEqual({
      runId: fixture.runEmpty,
      key: "train/loss",
      points: [],
      interpolated: [],
      downsampled: false,
      total: 0,
      before: null,
      after: null,
      ema: null,
    });
  });

  it("returns a window at full resolution when it fits, and bucketed when it does not", async () => {
    const db = database.db;
    const fits = await querySeries(db, {
      runIds: [fixture.runA],
      key: "train/loss",
      xMin: 5000,
      xMax: 5999,
      points: 1000,
    });
    expect(fits.series[0]).toMatchObject({ downsampled: false, total: 1000 });
    expect(fits.series[0]!.points.map((point) => point.x)).toEqual(
      Array.from({ length: 1000 }, (_, index) => 5000 + index),
    );

    const wide = await querySeries(db, {
      runIds: [fixture.runA],
      key: "train/loss",
      xMin: 2500.5,
      xMax: 12_400,
      points: 400,
    });
    expect(wide.series[0]).toMatchObject({ downsampled: true, total: 12_400 - 2501 + 1 });
    const xs = wide.series[0]!.points.map((point) => point.x);
    expect(Math.min(...xs)).toBe(2501);
    expect(Math.max(...xs)).toBe(12_400);
    expect(xs.length).toBeLessThanOrEqual(400);
    expect(wide.series[0]!.points).toContainEqual({ x: 12_345, y: 100 });
    expect(wide.series[0]!.points).toContainEqual({ x: 3_001, y: -7 });
  });

  it("uses another key as x, joined at the same steps, windowed in that key's units", async () => {
    const db = database.db;
    const full = await querySeries(db, {
      runIds: [fixture.runA, fixture.runB],
      key: "train/loss",
      x: "flops",
      points: 1000,
    });
    expect(full.series[0]).toMatchObject({ downsampled: true, total: A_STEPS });
    expect(full.series[0]!.points).toContainEqual({ x: 12_345e9, y: 100 });
    for (const point of full.series[0]!.points) expect(point.y).toBe(toChartValue(lossAt(point.x / 1e9)));
    // Run B logged no flops: nothing to place.
    expect(full.series[1]).toMatchObject({ points: [], total: 0 });

    const window = await querySeries(db, {
      runIds: [fixture.runA],
      key: "train/loss",
      x: "flops",
      xMin: 5e12 - 1,
      xMax: 6e12,
      points: 2000,
    });
    expect(window.series[0]).toMatchObject({ downsampled: false, total: 1001 });
    expect(window.series[0]!.points[0]).toEqual({ x: 5e12, y: lossAt(5000) });
    expect(window.series[0]!.points.at(-1)).toEqual({ x: 6e12, y: lossAt(6000) });
  });

  it("buckets chunks that keep no M4 rows from their points, exactly as downsample() does", async () => {
    const db = database.db;
    const [series] = await db.metricSeries.findMany({
      where: { runId: fixture.runA, key: "train/loss" },
      select: { id: true },
    });
    const before = await querySeries(db, { runIds: [fixture.runA], key: "train/loss", points: 1000 });
    await db.$executeRaw`UPDATE "MetricChunk" c SET "m4Fine" = NULL, "m4Coarse" = NULL FROM "MetricSeries" s WHERE s.number = c."seriesNumber" AND s.id = ${series!.id}`;
    try {
      // Output buckets of 80 and 400 steps: finer than a chunk, so only the nulled M4 rows could serve them.
      for (const points of [1000, 200]) {
        const fromPoints = await querySeries(db, { runIds: [fixture.runA], key: "train/loss", points });
        const reference = downsample(
          Array.from({ length: A_STEPS }, (_, step) => ({ x: step, y: lossAt(step) })),
          { buckets: Math.floor(points / 4) },
        );
        expect(fromPoints.series[0]!.points).toEqual(
          reference.map((point) => ({ x: point.x, y: toChartValue(lossAt(point.x)) })),
        );
        expect(fromPoints.series[0]).toMatchObject({ downsampled: true, total: A_STEPS });
      }
      const fromPoints = await querySeries(db, { runIds: [fixture.runA], key: "train/loss", points: 1000 });
      // Same extremes either way; only bucket edges differ.
      for (const wanted of [
        { x: 12_345, y: 100 },
        { x: 3_001, y: -7 },
        { x: 15_000, y: "NaN" },
      ]) {
        expect(fromPoints.series[0]!.points).toContainEqual(wanted);
        expect(before.series[0]!.points).toContainEqual(wanted);
      }
    } finally {
      await rebuildSummaries(db, [series!.id]);
    }
  });

  it("lists keys with run and point counts", async () => {
    const result = await caller(fixture.actors.viewer).metrics.keys({ runIds: [fixture.runA, fixture.runB] });
    expect(result.keys).toEqual([
      { key: "flops", runCount: 1, pointCount: A_STEPS },
      { key: "train/loss", runCount: 2, pointCount: A_STEPS + 500 },
    ]);
  });

  it("pages keys by name with a cursor, a search and the total", async () => {
    const runs = { runIds: [fixture.runA, fixture.runB, fixture.runKeys] };
    const first = await caller(fixture.actors.viewer).metrics.keys({ ...runs, limit: 4 });
    expect(first.keys.map((entry) => entry.key)).toEqual(["flops", "k/0", "k/1", "k/2"]);
    expect(first.total).toBe(7);
    const rest = await caller(fixture.actors.viewer).metrics.keys({ ...runs, limit: 4, cursor: first.nextCursor });
    expect(rest.keys.map((entry) => entry.key)).toEqual(["k/3", "k/4", "train/loss"]);
    expect(rest.nextCursor).toBeNull();
    // The search is text, not a pattern: % and _ match only themselves.
    expect((await caller(fixture.actors.viewer).metrics.keys({ ...runs, search: "K/" })).total).toBe(5);
    expect((await caller(fixture.actors.viewer).metrics.keys({ ...runs, search: "%" })).total).toBe(0);
    expect(await codeOf(caller(fixture.actors.viewer).metrics.keys({ ...runs, limit: 1_001 }))).toBe("BAD_REQUEST");
  });

  it("answers NOT_FOUND for unknown or other teams' runs, FORBIDDEN for an ingest key, UNAUTHORIZED for nobody", async () => {
    const input = (runIds: string[]) => ({ runIds, key: "train/loss" });
    expect(await codeOf(caller(fixture.actors.viewer).metrics.series(input([fixture.runA, fixture.foreignRun])))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(caller(fixture.actors.viewer).metrics.series(input([fixture.runA, "missing"])))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(caller(fixture.actors.outsider).metrics.series(input([fixture.runA])))).toBe("NOT_FOUND");
    expect(await codeOf(caller(fixture.actors.outsider).metrics.keys({ runIds: [fixture.runA] }))).toBe("NOT_FOUND");
    expect(await codeOf(caller(fixture.actors.ingestKey).metrics.series(input([fixture.runA])))).toBe("FORBIDDEN");
    expect(await codeOf(caller(null).metrics.series(input([fixture.runA])))).toBe("UNAUTHORIZED");
    expect(await codeOf(caller(fixture.actors.viewer).metrics.series({ ...input([fixture.runA]), points: 5001 }))).toBe(
      "BAD_REQUEST",
    );
    expect(await codeOf(caller(fixture.actors.viewer).metrics.series(input([])))).toBe("BAD_REQUEST");
  });
});
