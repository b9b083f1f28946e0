import { describe, expect, it } from "vitest";
import { isDivergedLoss } from "../../server/domain/run/run-divergence.ts";
import { metricsFromLine } from "../../worker/run-command.ts";

/** What a command's stdout line becomes: the values Python's json.dumps and other tools write, exactly. */

describe("metricsFromLine", () => {
  it("reads json.dumps' bare NaN, Infinity and -Infinity, outside strings only", () => {
    expect(metricsFromLine('{"step": 1, "train/loss": NaN}')).toEqual({
      step: 1,
      values: [["train/loss", Number.NaN]],
    });
    expect(metricsFromLine('{"step": 2, "a": Infinity, "b": -Infinity, "note": "NaN, Infinity", "c": 0.5}')).toEqual({
      step: 2,
      values: [
        ["a", Number.POSITIVE_INFINITY],
        ["b", Number.NEGATIVE_INFINITY],
        ["c", 0.5],
      ],
    });
    expect(metricsFromLine('{"step":3,"escaped \\" NaN":NaN}')).toEqual({
      step: 3,
      values: [['escaped " NaN', Number.NaN]],
    });
  });

  it("reads the quoted spellings and leaves other strings out", () => {
    const line =
      '{"step": 4, "a": "NaN", "b": "nan", "c": "inf", "d": "-inf", "e": "+Infinity", "f": "-Infinity", "g": "fast"}';
    expect(metricsFromLine(line)?.values).toEqual([
      ["a", Number.NaN],
      ["b", Number.NaN],
      ["c", Number.POSITIVE_INFINITY],
      ["d", Number.NEGATIVE_INFINITY],
      ["e", Number.POSITIVE_INFINITY],
      ["f", Number.NEGATIVE_INFINITY],
    ]);
  });

  it("is not a metrics line without a storable step, or when it is not JSON even with the literals read", () => {
    expect(metricsFromLine('{"step": 2147483648, "v": 1}')).toBeNull();
    expect(metricsFromLine('{"step": 2147483647, "v": 1}')).toEqual({ step: 2147483647, values: [["v", 1]] });
    expect(metricsFromLine('{"step": -1, "v": 1}')).toBeNull();
    expect(metricsFromLine('{"step": 1, "v": NaNa}')).toBeNull();
    expect(metricsFromLine('{"step": 1, "v": [NaN]}')).toBeNull();
    expect(metricsFromLine("epoch 1: loss NaN")).toBeNull();
  });
});

describe("isDivergedLoss", () => {
  it("is the training loss stopping being finite, nothing else", () => {
    expect(isDivergedLoss("train/loss", Number.NaN)).toBe(true);
    expect(isDivergedLoss("train/loss", Number.NEGATIVE_INFINITY)).toBe(true);
    expect(isDivergedLoss("train/loss", 1e308)).toBe(false);
    expect(isDivergedLoss("val/loss", Number.NaN)).toBe(false);
  });
});
