import { describe, expect, it } from "vitest";
import { dataColumnsFromSummary } from "../../server/domain/run/run-data-columns.ts";

describe("a run's D and clean time from its summary", () => {
  it("copies tokens, samples and the clean-time keys that are finite numbers at or above 0", () => {
    expect(
      dataColumnsFromSummary({
        tokens: 1.5e6,
        samples: 3000,
        trainSeconds: 12.5,
        evalSeconds: 0,
        overheadSeconds: 1.25,
        samplesPerSecond: 240,
        loss: 0.3,
      }),
    ).toEqual({
      tokens: 1.5e6,
      samples: 3000,
      trainSeconds: 12.5,
      evalSeconds: 0,
      overheadSeconds: 1.25,
      samplesPerSecond: 240,
    });
  });

  it("leaves out what is absent, null, text, negative or not finite", () => {
    expect(
      dataColumnsFromSummary({
        tokens: null,
        samples: "3000",
        trainSeconds: -1,
        evalSeconds: Number.NaN,
        overheadSeconds: Number.POSITIVE_INFINITY,
      }),
    ).toEqual({});
    expect(dataColumnsFromSummary(undefined)).toEqual({});
    expect(dataColumnsFromSummary({ samples: 64 })).toEqual({ samples: 64 });
  });
});
