import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { smoothEma, type XY } from "../../app/_features/charts/smoothing.ts";
import { metricsRouter } from "../../server/api/routers/metrics.ts";
import { createCallerFactory, createTRPCContext, router } from "../../server/api/trpc.ts";
import { fromChartValue } from "../../server/domain/metrics/chart-value.ts";
import { emaHorizon } from "../../server/domain/metrics/ema.ts";
import { ingestPoints, type MetricPointInput } from "../../server/domain/metrics/ingest-points.ts";
import { querySeries, type SeriesPoint } from "../../server/domain/metrics/query-series.ts";
import { createExperiment, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * Charts that never drop or hide a logged point (issue #16 item 2), against real PostgreSQL: every
 * point of a metric plotted against another key (x interpolated where that key was not logged),
 * each window's neighbours outside it, the EMA state at a window's start, and NaN, +Infinity and
 * -Infinity told apart.
 */

const createCaller = createCallerFactory(router({ metrics: metricsRouter }));

let database: TestDatabase;
let experimentId: string;
let viewerId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const viewer = await createUser(database.db, "Vera");
  viewerId = viewer.id;
  const team = await createTeamWith(database.db, { [viewer.id]: "viewer" });
  experimentId = await createExperiment(database.db, team.id);
});
afterAll(async () => {
  await database?.drop();
});

async function runWith(points: MetricPointInput[]): Promise<string> {
  const run = await database.db.run.create({
    data: { experimentId, name: "r", cellHash: randomBytes(8).toString("hex"), config: {} },
    select: { id: true },
  });
  for (let start = 0; start < points.length; start += 20_000)
    await ingestPoints(database.db, run.id, points.slice(start, start + 20_000));
  return run.id;
}

/** FLOPs as a trainer logs them: 6e6 a step, but only every 10 steps (steps 10..300). */
const flopsAt = (step: number) => 6e6 * step + 1e5;
/** val/loss as the issue found it: every 25 steps, from 0 to 300 (13 points), plus one after the last FLOPs. */
const EVAL_STEPS = [...Array.from({ length: 13 }, (_, index) => index * 25), 310];
const valLossAt = (step: number) => 3 / (1 + step / 50);

function evaluationRun(): Promise<string> {
  const points: MetricPointInput[] = [];
  for (let step = 10; step <= 300; step += 10) points.push({ key: "flops", step, value: flopsAt(step) });
  for (const step of EVAL_STEPS) points.push({ key: "val/loss", step, value: valLossAt(step) });
  return runWith(points);
}

describe("a metric against another x", () => {
  it("keeps every point of y: x as logged at the step, else interpolated between the nearest logged steps", async () => {
    const runId = await evaluationRun();
    const byStep = await querySeries(database.db, { runIds: [runId], key: "val/loss", x: "step" });
    expect(byStep.series[0]!.points).toHaveLength(14);

    const { series } = await querySeries(database.db, { runIds: [runId], key: "val/loss", x: "flops" });
    const points = series[0]!.points;
    // Step 0 lies before the first FLOPs (step 10) and step 310 after the last (300): neither can be placed.
    const placeable = EVAL_STEPS.filter((step) => step >= 10 && step <= 300);
    expect(placeable).toHaveLength(12);
    expect(points).toHaveLength(12);
    expect(series[0]!.total).toBe(12);
    placeable.forEach((step, index) => {
      const logged = step % 10 === 0;
      // FLOPs grow linearly with the step, so the interpolated x is the FLOPs at that step.
      const expected: SeriesPoint = logged
        ? { x: flopsAt(step), y: valLossAt(step) }
        : {
            x: flopsAt(step - 5) + (flopsAt(step + 5) - flopsAt(step - 5)) / 2,
            y: valLossAt(step),
            interpolated: true,
          };
      expect(points[index], `step ${step}`).toEqual(expected);
    });
  });

  it("flags the interpolated points on the wire (metrics.series) and keeps them in a window in FLOPs", async () => {
    const runId = await evaluationRun();
    const viewer = createCaller(createTRPCContext({ db: database.db, actor: userActor(viewerId) }));
    const { series } = await viewer.metrics.series({ runIds: [runId], key: "val/loss", x: "flops" });
    const [entry] = series;
    expect(entry!.xs).toHaveLength(12);
    // Steps 25, 75, ..., 275 (every other point placed, from the first) were not logged with FLOPs.
    expect(entry!.interpolated).toEqual([0, 2, 4, 6, 8, 10]);

    // Steps 50..125 in FLOPs; 75 is inside with an interpolated x, the neighbours are steps 25 (interpolated) and 150.
    const window = await querySeries(database.db, {
      runIds: [runId],
      key: "val/loss",
      x: "flops",
      xMin: flopsAt(50),
      xMax: flopsAt(125),
    });
    const result = window.series[0]!;
    expect(result.points.map((point) => point.y)).toEqual([50, 75, 100, 125].map(valLossAt));
    expect(result.points[1]).toEqual({ x: flopsAt(75), y: valLossAt(75), interpolated: true });
    expect(result.total).toBe(4);
    expect(result.before).toEqual({ x: flopsAt(25), y: valLossAt(25), interpolated: true });
    expect(result.after).toEqual({ x: flopsAt(150), y: valLossAt(150) });

    // Step 0 cannot be placed: a window starting at step 25's FLOPs has no neighbour before it.
    const fromStart = await querySeries(database.db, {
      runIds: [runId],
      key: "val/loss",
      x: "flops",
      xMin: flopsAt(25),
      xMax: flopsAt(60),
    });
    expect(fromStart.series[0]).toMatchObject({ before: null, total: 2, after: { x: flopsAt(75), y: valLossAt(75) } });
  });
});

describe("a zoom window", () => {
  it("answers the nearest logged point on each side outside it, so a line crossing it is drawn", async () => {
    const runId = await runWith([0, 100, 200, 300].map((step) => ({ key: "val/loss", step, value: step / 100 })));
    const ask = (xMin: number, xMax: number) =>
      querySeries(database.db, { runIds: [runId], key: "val/loss", xMin, xMax }).then(({ series }) => series[0]!);

    // One point inside.
    expect(await ask(150, 250)).toMatchObject({
      points: [{ x: 200, y: 2 }],
      total: 1,
      before: { x: 100, y: 1 },
      after: { x: 300, y: 3 },
    });
    // None inside, but the line from step 100 to 200 crosses the window.
    expect(await ask(120, 180)).toMatchObject({
      points: [],
      total: 0,
      before: { x: 100, y: 1 },
      after: { x: 200, y: 2 },
    });
    // At the ends: nothing beyond them.
    expect(await ask(0, 50)).toMatchObject({ points: [{ x: 0, y: 0 }], before: null, after: { x: 100, y: 1 } });
    expect(await ask(250, 400)).toMatchObject({ points: [{ x: 300, y: 3 }], before: { x: 200, y: 2 }, after: null });
  });

  it("finds the neighbours across chunks and for many runs in one request", async () => {
    // Points every 5,000 steps: each in a chunk of its own, empty chunks between.
    const sparse = await runWith(
      Array.from({ length: 5 }, (_, index) => ({ key: "loss", step: index * 5000, value: index })),
    );
    const dense = await runWith(Array.from({ length: 30_000 }, (_, step) => ({ key: "loss", step, value: step })));
    const { series } = await querySeries(database.db, {
      runIds: [sparse, dense],
      key: "loss",
      xMin: 12_000,
      xMax: 12_999,
      points: 100,
    });
    expect(series[0]).toMatchObject({ points: [], before: { x: 10_000, y: 2 }, after: { x: 15_000, y: 3 } });
    // The dense run is bucketed inside the window; its neighbours are the steps just outside.
    expect(series[1]).toMatchObject({ downsampled: true, total: 1000, before: { x: 11_999 }, after: { x: 13_000 } });
  });
});

/** A noisy loss with a few NaN and infinities, logged every step. */
function noisyLoss(count: number): MetricPointInput[] {
  let state = 12_345;
  return Array.from({ length: count }, (_, step) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const value =
      step % 997 === 500
        ? Number.NaN
        : step % 1999 === 7
          ? Number.POSITIVE_INFINITY
          : 2 / (1 + step / 500) + state / 2 ** 33;
    return { key: "loss", step, value };
  });
}

/** A series' points as the chart draws them: before, inside, after. */
function drawn(result: { points: SeriesPoint[]; before: SeriesPoint | null; after: SeriesPoint | null }): XY[] {
  const xy = (point: SeriesPoint): XY => ({ x: point.x, y: typeof point.y === "number" ? point.y : null });
  return [...(result.before ? [result.before] : []), ...result.points, ...(result.after ? [result.after] : [])].map(xy);
}

describe("smoothing a zoom window", () => {
  it("starts the EMA from the state of the points before the window: the zoomed curve equals the unzoomed one", async () => {
    const logged = noisyLoss(4000);
    const runId = await runWith(logged);
    const full = logged.map((point): XY => ({ x: point.step, y: Number.isFinite(point.value) ? point.value : null }));
    const weight = 0.9;
    const unzoomed = new Map(smoothEma(full, weight).map((point) => [point.x, point.y]));

    const { series } = await querySeries(database.db, {
      runIds: [runId],
      key: "loss",
      xMin: 900.5,
      xMax: 1600,
      points: 1000,
      smoothing: weight,
    });
    const window = series[0]!;
    expect(window).toMatchObject({ downsampled: false, total: 700, before: { x: 900 } });
    // The state before step 900: every finite value of steps 0..899 (all read: the horizon at 0.9 is 263
    // points, and the walk back reads whole chunks), so the same arithmetic as the unzoomed curve.
    const finiteBefore = logged.filter((point) => point.step < 900 && Number.isFinite(point.value)).length;
    expect(window.ema).toMatchObject({ weight, count: finiteBefore });
    const zoomed = smoothEma(drawn(window), weight, window.ema!);
    expect(zoomed).toHaveLength(702);
    for (const point of zoomed) expect(point.y, `step ${point.x}`).toBe(unzoomed.get(point.x));
  });

  it("reads only the horizon's points before a window far into a long run, within 1e-12 of the full EMA", async () => {
    const logged = noisyLoss(60_000);
    const runId = await runWith(logged);
    const weight = 0.999;
    const full = logged.map((point): XY => ({ x: point.step, y: Number.isFinite(point.value) ? point.value : null }));
    const unzoomed = new Map(smoothEma(full, weight).map((point) => [point.x, point.y]));
    const { series } = await querySeries(database.db, {
      runIds: [runId],
      key: "loss",
      xMin: 55_000,
      xMax: 55_500,
      points: 1000,
      smoothing: 0.9995,
    });
    const window = series[0]!;
    // Capped at 0.999 as the chart caps it; the count is what was read, bounded by the horizon (27,617) and two chunks.
    expect(window.ema!.weight).toBe(weight);
    expect(window.ema!.count).toBeGreaterThanOrEqual(emaHorizon(weight));
    expect(window.ema!.count).toBeLessThanOrEqual(emaHorizon(weight) + 2 * 1024);
    for (const point of smoothEma(drawn(window), weight, window.ema!)) {
      const expected = unzoomed.get(point.x)!;
      expect(Math.abs(point.y! - expected), `step ${point.x}`).toBeLessThanOrEqual(1e-12 * Math.abs(expected));
    }
  });

  it("answers no state without smoothing or without a window start", async () => {
    const runId = await runWith(noisyLoss(100));
    const ask = (query: { xMin?: number; xMax?: number; smoothing?: number }) =>
      querySeries(database.db, { runIds: [runId], key: "loss", ...query }).then(({ series }) => series[0]!.ema);
    expect(await ask({ xMin: 50, xMax: 60 })).toBeNull();
    expect(await ask({ xMax: 60, smoothing: 0.5 })).toBeNull();
    expect(await ask({ smoothing: 0.5 })).toBeNull();
    // Before step 49 (the neighbour drawn before the window): steps 0..48, step 7 an infinity.
    expect(await ask({ xMin: 50, xMax: 60, smoothing: 0.5 })).toMatchObject({ weight: 0.5, count: 48 });
  });
});

describe("non-finite values", () => {
  it("come back as NaN, Infinity and -Infinity, as logged and in buckets, through metrics.series", async () => {
    const points: MetricPointInput[] = Array.from({ length: 5000 }, (_, step) => ({ key: "loss", step, value: 1 }));
    // Inside 64-step buckets, not at their edges: a bucket summary keeps only the step of such a point.
    points[1000]!.value = Number.NaN;
    points[2030]!.value = Number.POSITIVE_INFINITY;
    points[3030]!.value = Number.NEGATIVE_INFINITY;
    const runId = await runWith(points);
    const viewer = createCaller(createTRPCContext({ db: database.db, actor: userActor(viewerId) }));
    const valueAt = (entry: { xs: number[]; ys: unknown[] }, step: number) => entry.ys[entry.xs.indexOf(step)];

    const bucketed = (await viewer.metrics.series({ runIds: [runId], key: "loss", points: 100 })).series[0]!;
    expect(bucketed.downsampled).toBe(true);
    expect(valueAt(bucketed, 1000)).toBe("NaN");
    expect(valueAt(bucketed, 2030)).toBe("Infinity");
    expect(valueAt(bucketed, 3030)).toBe("-Infinity");

    const asLogged = (
      await viewer.metrics.series({ runIds: [runId], key: "loss", xMin: 2000, xMax: 3100, points: 5000 })
    ).series[0]!;
    expect(asLogged.downsampled).toBe(false);
    expect(valueAt(asLogged, 2030)).toBe("Infinity");
    expect(valueAt(asLogged, 3030)).toBe("-Infinity");
    expect(asLogged.ys.filter((y) => typeof y === "string")).toHaveLength(2);
    expect(asLogged.ys.map(fromChartValue).filter((y) => y === 1)).toHaveLength(1101 - 2);
  });
});
