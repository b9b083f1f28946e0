import { describe, expect, it } from "vitest";
import { buildAxes, runsInBrushes, type SweepPoint } from "../../app/_features/hyperparameters/axes.ts";
import { formatBrushes, parseBrushes } from "../../app/_features/hyperparameters/brush-url.ts";

const points: SweepPoint[] = [4, 16, 64, 128].flatMap((width, index) =>
  ["adam", "sgd", "a,b:c"].map((optimizer, seed) => ({
    id: `w${width}-${optimizer}`,
    params: { "model.width": width, optimizer },
    value: 1 / (index + 1) + seed / 100,
  })),
);
const axes = buildAxes(
  [
    { name: "model.width", kind: "numeric" },
    { name: "optimizer", kind: "categorical" },
  ],
  points,
  "final val/loss",
);
const width = axes[0]!;
const optimizer = axes[1]!;
const metricAxis = axes[2]!;

describe("parallel-coordinate brushes in the URL", () => {
  it("writes value ranges named by parameter and metric, every name encoded", () => {
    const brushes = new Map([
      [width.key, { low: width.position(16)!, high: width.position(64)! }],
      [metricAxis.key, { low: metricAxis.position(0.25)!, high: metricAxis.position(0.5)! }],
      [optimizer.key, { low: 0, high: 0.6 }],
    ]);
    expect(formatBrushes(brushes, axes, "val/loss")).toBe(
      "model.width:16..64,optimizer:a%2Cb%3Ac|adam,val%2Floss:0.25..0.5",
    );
    expect(formatBrushes(new Map(), axes, "val/loss")).toBeNull();
  });

  it("reads back the same runs, and drops what does not parse or is not drawn", () => {
    const brushes = new Map([
      [width.key, { low: 0.1, high: 0.8 }],
      [optimizer.key, { low: 0.4, high: 1 }],
    ]);
    const text = formatBrushes(brushes, axes, "val/loss");
    const restored = parseBrushes(text, axes, "val/loss");
    expect([...restored.keys()].sort()).toEqual([...brushes.keys()].sort());
    expect(runsInBrushes(points, axes, restored)).toEqual(runsInBrushes(points, axes, brushes));
    expect(runsInBrushes(points, axes, restored).length).toBeGreaterThan(0);

    const parsed = parseBrushes("nope:1..2,model.width:abc,optimizer:%E0%A4%A,val%2Floss:0.5..0.25", axes, "val/loss");
    expect([...parsed.keys()]).toEqual([metricAxis.key]);
    expect(parsed.get(metricAxis.key)!.low).toBeLessThan(parsed.get(metricAxis.key)!.high);
    expect(parseBrushes(null, axes, "val/loss").size).toBe(0);
    // Before the sweep loads there are no axes: nothing is brushed yet.
    expect(parseBrushes("model.width:16..64", [], "val/loss").size).toBe(0);
  });

  it("keeps a range wider than the drawn axis inside it", () => {
    const restored = parseBrushes("model.width:1..1000", axes, "val/loss").get(width.key)!;
    expect(restored).toEqual({ low: 0, high: 1 });
  });
});
