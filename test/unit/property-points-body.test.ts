import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pointsBodyAsIs } from "../../server/http/v1.ts";
import { MAX_POINTS, ZLogPointsBody } from "../../server/http/v1-schemas.ts";

/**
 * The points endpoint checks a body by hand before falling back to zod (server/http/v1.ts): a body it
 * accepts must be one ZLogPointsBody accepts, unchanged, and the bodies clients send must pass it.
 */

const field = fc.constantFrom("key", "step", "value", "wallTime", "extra", "__proto__");
const anything = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "NaN",
      "Infinity",
      "-Infinity",
      "nan",
      -1,
      1.5,
      2_147_483_648,
      2_147_483_647,
      "",
      "k".repeat(201),
      "k".repeat(200),
      null,
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
// Points that are mostly right, with any field wrong, missing or extra.
const nearPoint = fc.dictionary(field, anything, { maxKeys: 5 });
const goodPoint = fc.record(
  {
    key: fc.string({ minLength: 1, maxLength: 200 }),
    step: fc.integer({ min: 0, max: 2_147_483_647 }),
    value: fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom("NaN", "Infinity", "-Infinity"),
    ),
    wallTime: fc.double({ noNaN: true, noDefaultInfinity: true }),
  },
  { requiredKeys: ["key", "step", "value"] },
);
// A valid point with one field set to anything (a wrong value, or a field it may not have).
const changedPoint = fc.tuple(goodPoint, field, anything).map(([point, name, value]) => ({ ...point, [name]: value }));
const body = fc.oneof(
  fc.record({ points: fc.array(fc.oneof(goodPoint, nearPoint, changedPoint), { maxLength: 8 }) }),
  fc.record({
    points: fc
      .tuple(fc.array(goodPoint, { maxLength: 3 }), changedPoint)
      .map(([points, changed]) => [...points, changed]),
  }),
  fc.dictionary(fc.constantFrom("points", "other"), fc.array(goodPoint, { maxLength: 3 })),
  fc.jsonValue({ maxDepth: 3 }),
);

describe("points body checked by hand (properties)", () => {
  it("accepts only bodies zod accepts, as zod returns them", () => {
    fc.assert(
      fc.property(body, (candidate) => {
        const parsed = JSON.parse(JSON.stringify(candidate)) as unknown;
        const fast = pointsBodyAsIs(parsed);
        const checked = ZLogPointsBody.safeParse(parsed);
        if (fast !== null) expect(checked.success && checked.data).toEqual(fast);
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts every body of valid points", () => {
    fc.assert(
      fc.property(fc.array(goodPoint, { minLength: 1, maxLength: 20 }), (points) => {
        const parsed = JSON.parse(JSON.stringify({ points })) as unknown;
        expect(pointsBodyAsIs(parsed)).toEqual(ZLogPointsBody.parse(parsed));
      }),
    );
    expect(
      pointsBodyAsIs({ points: Array.from({ length: MAX_POINTS + 1 }, () => ({ key: "k", step: 0, value: 1 })) }),
    ).toBeNull();
    expect(pointsBodyAsIs({ points: [] })).toBeNull();
  });
});
