import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { downsample, type RawPoint } from "../../server/domain/metrics/downsample.ts";

/**
 * Property tests for the chart downsampler: whatever the series (NaN, infinities, repeated or
 * unordered x, huge and tiny values) and whatever bucket count is asked, the output is never longer
 * than 4 points per bucket, holds only logged points in x order, and keeps every bucket's minimum,
 * maximum and gap.
 */

const finite = (y: number | null): y is number => y !== null && Number.isFinite(y);
const keyOf = (point: { x: number; y: number | null }) => `${point.x}|${finite(point.y) ? point.y : null}`;

/** The buckets downsample promises: `buckets` equal-width slices of [min x, max x]. */
function referenceBuckets(points: readonly RawPoint[], buckets: number): RawPoint[][] {
  const placed = points.filter((point) => Number.isFinite(point.x));
  if (placed.length === 0) return [];
  const xs = placed.map((point) => point.x);
  const first = Math.min(...xs);
  const span = Math.max(...xs) - first;
  const groups: RawPoint[][] = Array.from({ length: buckets }, () => []);
  for (const point of placed)
    groups[span === 0 ? 0 : Math.min(buckets - 1, Math.floor(((point.x - first) * buckets) / span))]!.push(point);
  return groups;
}

const yValue = fc.oneof(
  { weight: 10, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 2, arbitrary: fc.double() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      null,
      0,
      -0,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
    ),
  },
);
const xValue = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 5000 }) },
  { weight: 3, arbitrary: fc.double({ min: -1e9, max: 1e9, noNaN: true }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 1e300, -1e300),
  },
);
const series = fc.array(fc.record({ x: xValue, y: yValue }), { maxLength: 1500, size: "max" });
/** A training curve: steps in order, a few repeats, noise and rare spikes or gaps. */
const curve = fc
  .record({
    length: fc.integer({ min: 0, max: 4000 }),
    seed: fc.integer(),
    spikes: fc.array(fc.tuple(fc.nat(), yValue), { maxLength: 8 }),
  })
  .map(({ length, seed, spikes }) => {
    let state = seed >>> 0;
    const random = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    };
    const points: RawPoint[] = Array.from({ length }, (_, step) => ({
      x: step - (random() < 0.02 ? 1 : 0),
      y: 2 * Math.exp(-step / 500) + random() * 0.01,
    }));
    for (const [at, value] of spikes) if (points.length) points[at % points.length]!.y = value;
    return points;
  });
const bucketCount = fc.oneof(
  fc.integer({ min: 1, max: 60 }),
  fc.integer({ min: 1, max: 400 }),
  fc.constantFrom(0, -3, 1.5, 2.9, 1e6),
);

function checkPromises(points: RawPoint[], asked: number): void {
  const buckets = Math.max(1, Math.floor(asked));
  const output = downsample(points, { buckets });
  const placed = points.filter((point) => Number.isFinite(point.x));

  expect(output.length).toBeLessThanOrEqual(Math.min(4 * buckets, placed.length));
  for (let index = 1; index < output.length; index++)
    expect(output[index]!.x).toBeGreaterThanOrEqual(output[index - 1]!.x);
  for (const point of output)
    expect(point.y === null || Number.isFinite(point.y), `y ${point.y} is neither a number nor a gap`).toBe(true);

  // Only logged points, each at most as often as it was logged.
  const logged = new Map<string, number>();
  for (const point of placed) logged.set(keyOf(point), (logged.get(keyOf(point)) ?? 0) + 1);
  for (const point of output) {
    const left = logged.get(keyOf(point)) ?? 0;
    expect(left, `invented or repeated ${JSON.stringify(point)}`).toBeGreaterThan(0);
    logged.set(keyOf(point), left - 1);
  }

  if (placed.length <= 4 * buckets) {
    expect(output.length).toBe(placed.length);
    return;
  }
  const shown = new Set(output.map(keyOf));
  for (const group of referenceBuckets(points, buckets)) {
    const values = group.filter((point) => finite(point.y));
    if (values.length) {
      const min = Math.min(...values.map((point) => point.y!));
      const max = Math.max(...values.map((point) => point.y!));
      expect(
        values.some((point) => point.y === min && shown.has(keyOf(point))),
        `bucket minimum ${min} missing`,
      ).toBe(true);
      expect(
        values.some((point) => point.y === max && shown.has(keyOf(point))),
        `bucket maximum ${max} missing`,
      ).toBe(true);
    }
    if (group.some((point) => !finite(point.y))) {
      expect(
        group.some(
          (point) => !finite(point.y) && output.some((shownPoint) => shownPoint.y === null && shownPoint.x === point.x),
        ),
        "a bucket's NaN/infinite value lost its gap",
      ).toBe(true);
    }
  }
}

describe("downsample (properties)", () => {
  it("keeps every bucket's min, max and gap, never returns more than asked, on arbitrary series", () => {
    fc.assert(
      fc.property(series, bucketCount, (points, buckets) => checkPromises(points, buckets)),
      { numRuns: 300 },
    );
  });

  it("does the same on training-like curves with spikes and gaps", () => {
    fc.assert(
      fc.property(curve, fc.integer({ min: 1, max: 200 }), (points, buckets) => checkPromises(points, buckets)),
      { numRuns: 200 },
    );
  });

  it("does not depend on the order points arrive in (apart from ties in x)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 1500, size: "max" }),
        fc.integer(),
        fc.integer({ min: 1, max: 100 }),
        (xs, seed, buckets) => {
          const points = xs.map((x) => ({ x, y: Math.sin(x * 0.37 + seed) }));
          const reversed = [...points].reverse();
          expect(downsample(reversed, { buckets })).toEqual(downsample(points, { buckets }));
        },
      ),
      { numRuns: 150 },
    );
  });
});
