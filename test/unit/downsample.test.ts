import { describe, expect, it } from "vitest";
import { downsample, type RawPoint } from "../../server/domain/metrics/downsample.ts";

/** mulberry32: a small seeded PRNG, so every failure replays. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSeries(random: () => number): RawPoint[] {
  const length = Math.floor(random() * 3000);
  const points: RawPoint[] = [];
  let x = random() * 100 - 50;
  let y = random();
  for (let index = 0; index < length; index++) {
    // Mostly increasing x, some repeats, sometimes out of order.
    const r = random();
    x += r < 0.05 ? 0 : r < 0.08 ? -random() * 5 : random() * 3;
    y += (random() - 0.5) * 0.1;
    const special = random();
    const value =
      special < 0.01
        ? Number.NaN
        : special < 0.015
          ? Number.POSITIVE_INFINITY
          : special < 0.02
            ? Number.NEGATIVE_INFINITY
            : special < 0.025
              ? null
              : special < 0.03
                ? y + (random() - 0.5) * 1e6
                : y;
    points.push({ x, y: value });
  }
  return points;
}

/** The reference buckets: the same equal-width split of [min x, max x] the function promises. */
function referenceBuckets(points: RawPoint[], buckets: number): RawPoint[][] {
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

const finite = (y: number | null): y is number => y !== null && Number.isFinite(y);

describe("downsample", () => {
  it("keeps a single spike in 100,000 points of noise", () => {
    const random = prng(1);
    const points: RawPoint[] = Array.from({ length: 100_000 }, (_, step) => ({ x: step, y: 1 + random() * 0.01 }));
    points[73_219] = { x: 73_219, y: 50 };
    points[12_345] = { x: 12_345, y: -50 };
    const output = downsample(points, { buckets: 250 });
    expect(output.length).toBeLessThanOrEqual(1000);
    expect(output).toContainEqual({ x: 73_219, y: 50 });
    expect(output).toContainEqual({ x: 12_345, y: -50 });
  });

  it("turns NaN and infinities into gaps (null y) and never crashes on them", () => {
    const points: RawPoint[] = Array.from({ length: 1000 }, (_, step) => ({
      x: step,
      y: step === 500 ? Number.NaN : step === 600 ? Number.POSITIVE_INFINITY : step,
    }));
    const output = downsample(points, { buckets: 10 });
    expect(output.filter((point) => point.y === null).map((point) => point.x)).toEqual([500, 600]);
    expect(output.every((point) => point.y === null || Number.isFinite(point.y))).toBe(true);
    expect(
      downsample(
        [
          { x: 0, y: Number.NaN },
          { x: 1, y: Number.NEGATIVE_INFINITY },
        ],
        { buckets: 1 },
      ),
    ).toEqual([
      { x: 0, y: null },
      { x: 1, y: null },
    ]);
  });

  it("returns the points whole, in x order, when they fit", () => {
    const points: RawPoint[] = [
      { x: 3, y: 1 },
      { x: 1, y: 2 },
      { x: 2, y: Number.NaN },
    ];
    expect(downsample(points, { buckets: 1 })).toEqual([
      { x: 1, y: 2 },
      { x: 2, y: null },
      { x: 3, y: 1 },
    ]);
  });

  it("handles empty input, equal x everywhere, unplaceable x and odd bucket counts", () => {
    expect(downsample([], { buckets: 10 })).toEqual([]);
    const flat = Array.from({ length: 100 }, (_, index) => ({ x: 7, y: index % 13 }));
    const output = downsample(flat, { buckets: 3 });
    expect(output.length).toBeLessThanOrEqual(4);
    expect(output.map((point) => point.y)).toEqual(expect.arrayContaining([0, 12]));
    expect(
      downsample(
        [
          { x: Number.NaN, y: 1 },
          { x: 1, y: 1 },
        ],
        { buckets: 0 },
      ),
    ).toEqual([{ x: 1, y: 1 }]);
  });

  it("holds its promises on 300 random series (seeded)", () => {
    const random = prng(20261128);
    for (let trial = 0; trial < 300; trial++) {
      const points = randomSeries(random);
      const buckets = 1 + Math.floor(random() * 60);
      const output = downsample(points, { buckets });

      // Never longer than 4 points per bucket.
      expect(output.length, `trial ${trial}`).toBeLessThanOrEqual(4 * buckets);
      // Monotone x.
      for (let index = 1; index < output.length; index++)
        expect(output[index]!.x).toBeGreaterThanOrEqual(output[index - 1]!.x);
      // Only real points, non-finite values as null.
      const real = new Set(points.map((point) => `${point.x}|${finite(point.y) ? point.y : null}`));
      for (const point of output)
        expect(real.has(`${point.x}|${point.y}`), `trial ${trial}: invented ${JSON.stringify(point)}`).toBe(true);
      // Every bucket's true minimum and maximum appear, and a bucket with a non-finite value shows a gap.
      const shown = new Set(output.map((point) => `${point.x}|${point.y}`));
      for (const group of referenceBuckets(points, buckets)) {
        const values = group.filter((point) => finite(point.y));
        if (values.length > 0) {
          const min = values.reduce((best, point) => (point.y! < best.y! ? point : best));
          const max = values.reduce((best, point) => (point.y! > best.y! ? point : best));
          expect(shown.has(`${min.x}|${min.y}`), `trial ${trial}: bucket minimum ${min.y} at ${min.x} missing`).toBe(
            true,
          );
          expect(shown.has(`${max.x}|${max.y}`), `trial ${trial}: bucket maximum ${max.y} at ${max.x} missing`).toBe(
            true,
          );
        }
        const gap = group.find((point) => !finite(point.y));
        if (gap)
          expect(
            output.some(
              (point) => point.y === null && group.some((member) => member.x === point.x && !finite(member.y)),
            ),
            `trial ${trial}: gap lost`,
          ).toBe(true);
      }
    }
  });
});
