import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestPoints, type MetricPointInput } from "../../server/domain/metrics/ingest-points.ts";
import { toChartValue } from "../../server/domain/metrics/chart-value.ts";
import { querySeries } from "../../server/domain/metrics/query-series.ts";
import { createExperiment, createTeamWith } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * Property tests for the SQL downsampling path (stored summaries and the points around them): for
 * any logged series and any window and point budget, a chart gets at most the points it asked for,
 * only logged points, in step order, with the window's smallest and largest values and its gaps.
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

const value = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e300, -1e300, 0),
  },
);

/** A logged series: distinct steps with gaps between them, values with rare spikes and NaN. */
const loggedSeries = fc
  .record({
    count: fc.integer({ min: 1, max: 4000 }),
    stride: fc.integer({ min: 1, max: 40 }),
    seed: fc.integer(),
    spikes: fc.array(fc.tuple(fc.nat(), value), { maxLength: 12 }),
    batches: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ count, stride, seed, spikes, batches }) => {
    let state = seed >>> 0;
    const random = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    };
    const points: { step: number; value: number }[] = [];
    let step = Math.floor(random() * 100);
    for (let index = 0; index < count; index++) {
      points.push({ step, value: 1 / (1 + index / 100) + 0.05 * (random() - 0.5) });
      step += 1 + Math.floor(random() * stride);
    }
    for (const [at, spike] of spikes) points[at % points.length]!.value = spike;
    return { points, batches };
  });

const window = fc.record({
  points: fc.oneof(fc.integer({ min: 4, max: 60 }), fc.integer({ min: 4, max: 2000 })),
  from: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  to: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
});

const finite = (y: number) => Number.isFinite(y);

describe("querySeries (properties)", () => {
  it("returns at most `points` logged points in step order, keeping the window's extremes and gaps", async () => {
    await fc.assert(
      fc.asyncProperty(
        loggedSeries,
        fc.array(window, { minLength: 1, maxLength: 3 }),
        async ({ points, batches }, windows) => {
          const run = await database.db.run.create({
            data: { experimentId, name: "r", cellHash: randomBytes(8).toString("hex"), config: {} },
            select: { id: true },
          });
          // Sent as a logger would: in a few batches, not in step order.
          const size = Math.ceil(points.length / batches);
          for (let start = points.length - size; start > -size; start -= size) {
            const batch: MetricPointInput[] = points
              .slice(Math.max(0, start), start + size)
              .map((point) => ({ key: "loss", ...point }));
            await ingestPoints(database.db, run.id, batch);
          }
          const first = points[0]!.step;
          const last = points.at(-1)!.step;
          for (const asked of windows) {
            const xMin = asked.from === undefined ? undefined : first + asked.from * (last - first);
            const xMax =
              asked.to === undefined ? undefined : Math.max(xMin ?? first, first + asked.to * (last - first));
            const { series } = await querySeries(database.db, {
              runIds: [run.id],
              key: "loss",
              points: asked.points,
              xMin,
              xMax,
            });
            const result = series[0]!;
            const inWindow = points.filter(
              (point) => (xMin === undefined || point.step >= xMin) && (xMax === undefined || point.step <= xMax),
            );
            const label = `${points.length} points, window ${xMin}..${xMax}, ${asked.points} asked`;

            expect(result.points.length, label).toBeLessThanOrEqual(asked.points);
            // The nearest logged point on each side outside the window, so a line crossing it is drawn.
            const chartPoint = (point: { step: number; value: number } | undefined) =>
              point ? { x: point.step, y: finite(point.value) ? point.value + 0 : toChartValue(point.value) } : null;
            const neighbour = (point: { x: number; y: unknown } | null) =>
              point && typeof point.y === "number" ? { x: point.x, y: point.y + 0 } : point;
            expect(neighbour(result.before), `${label}: before`).toEqual(
              xMin === undefined ? null : chartPoint(points.filter((point) => point.step < xMin).at(-1)),
            );
            expect(neighbour(result.after), `${label}: after`).toEqual(
              xMax === undefined ? null : chartPoint(points.find((point) => point.step > xMax)),
            );
            const byStep = new Map(points.map((point) => [point.step, point.value]));
            for (let index = 0; index < result.points.length; index++) {
              const shown = result.points[index]!;
              if (index > 0) expect(shown.x, label).toBeGreaterThan(result.points[index - 1]!.x);
              expect(byStep.has(shown.x), `${label}: step ${shown.x} was never logged`).toBe(true);
              const logged = byStep.get(shown.x)!;
              // PostgreSQL's float8 arithmetic may turn a logged -0 into 0; a chart cannot tell them apart.
              // NaN, +Infinity and -Infinity each come back as themselves.
              const expected = finite(logged) ? logged + 0 : toChartValue(logged);
              expect(typeof shown.y === "number" ? shown.y + 0 : shown.y, `${label}: value at step ${shown.x}`).toBe(
                expected,
              );
              if (xMin !== undefined) expect(shown.x).toBeGreaterThanOrEqual(xMin);
              if (xMax !== undefined) expect(shown.x).toBeLessThanOrEqual(xMax);
            }
            if (inWindow.length <= asked.points) {
              expect(
                result.points.map((point) => point.x),
                label,
              ).toEqual(inWindow.map((point) => point.step));
              continue;
            }
            expect(result.downsampled, label).toBe(true);
            const values = inWindow.map((point) => point.value).filter(finite);
            const shownValues = result.points.map((point) => point.y);
            if (values.length) {
              expect(shownValues, `${label}: window minimum`).toContain(Math.min(...values));
              expect(shownValues, `${label}: window maximum`).toContain(Math.max(...values));
            }
            if (inWindow.some((point) => !finite(point.value)))
              expect(
                shownValues.some((shown) => typeof shown === "string"),
                `${label}: gap`,
              ).toBe(true);
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});
