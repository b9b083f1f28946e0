import { describe, expect, it } from "vitest";
import {
  buildAxes,
  categoricalAxis,
  formatAxisValue,
  numericAxis,
  runsInBrushes,
  type SweepPoint,
} from "../../app/_features/hyperparameters/axes.ts";

const plain = (value: number) => String(value);

describe("parallel-coordinates axes", () => {
  it("puts widths 16..1024 on a log axis (a 64x span) and seeds 0..2 on a linear one", () => {
    const width = numericAxis("param:model.width", "model.width", [16, 64, 256, 1024], plain);
    expect(width.scale).toBe("log");
    expect(width.position(16)).toBe(0);
    expect(width.position(1024)).toBe(1);
    expect(width.position(128)).toBeCloseTo(0.5, 12);
    expect(width.ticks.map((tick) => tick.label)).toEqual(["16", "64", "256", "1024"]);
    const seed = numericAxis("param:training.seed", "training.seed", [0, 1, 2], plain);
    expect(seed.scale).toBe("linear");
    expect(seed.position(1)).toBe(0.5);
    // 20x exactly is not more than 20x.
    expect(numericAxis("k", "k", [1, 20], plain).scale).toBe("linear");
    expect(numericAxis("k", "k", [1e-4, 3e-3], plain).scale).toBe("log");
  });

  it("labels the decades of a log axis with many values, and a lone value sits in the middle", () => {
    const lr = numericAxis("k", "lr", [1e-5, 2e-5, 5e-5, 1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2], plain);
    expect(lr.ticks.map((tick) => tick.label)).toEqual(["0.00001", "0.0001", "0.001", "0.01"]);
    expect(numericAxis("k", "k", [5, 5], plain).position(5)).toBe(0.5);
    expect([1e-5, 2.5e-3, 3e-4, 0.001, 0.5, 1024, 2e6].map(formatAxisValue)).toEqual([
      "1e-5",
      "0.0025",
      "3e-4",
      "0.001",
      "0.5",
      "1024",
      "2e6",
    ]);
    expect(numericAxis("k", "k", [1, 100], plain).position("x")).toBeNull();
  });

  it("gives strings and booleans one evenly spaced point per category", () => {
    const axis = categoricalAxis("param:opt", "opt", ["sgd", "adam", "adam", null, "rmsprop"]);
    expect(axis.scale).toBe("categorical");
    expect(axis.ticks).toEqual([
      { label: "adam", position: 0 },
      { label: "rmsprop", position: 0.5 },
      { label: "sgd", position: 1 },
    ]);
    expect(axis.position(null)).toBeNull();
  });

  it("keeps exactly the runs inside every brushed range", () => {
    const points: SweepPoint[] = [16, 64, 256].flatMap((width) =>
      [0, 1, 2].map((seed) => ({
        id: `w${width}s${seed}`,
        params: { "model.width": width, "training.seed": seed },
        value: 1 / width + seed,
      })),
    );
    const axes = buildAxes(
      [
        { name: "model.width", kind: "numeric" },
        { name: "training.seed", kind: "numeric" },
      ],
      points,
      "val/loss",
    );
    expect(axes.map((axis) => axis.key)).toEqual(["param:model.width", "param:training.seed", "metric"]);
    const width = axes[0]!;
    const at64 = width.position(64)!;
    const onlyMiddle = new Map([["param:model.width", { low: at64 - 0.01, high: at64 + 0.01 }]]);
    expect(runsInBrushes(points, axes, onlyMiddle)).toEqual(["w64s0", "w64s1", "w64s2"]);
    const andSeedZero = new Map([...onlyMiddle, ["param:training.seed", { low: 0, high: 0.1 }]]);
    expect(runsInBrushes(points, axes, andSeedZero)).toEqual(["w64s0"]);
    expect(runsInBrushes(points, axes, new Map())).toHaveLength(9);
    // A run without a metric value is outside any brush on the metric axis.
    const withMissing = [...points, { id: "pending", params: { "model.width": 64, "training.seed": 0 }, value: null }];
    expect(runsInBrushes(withMissing, axes, new Map([["metric", { low: 0, high: 1 }]]))).not.toContain("pending");
  });
});
