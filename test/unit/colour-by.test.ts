import { describe, expect, it } from "vitest";
import { sequentialColor } from "../../app/_features/charts/chart-theme.ts";
import {
  colourByOptions,
  colourByParam,
  defaultColourParam,
  isSeedParam,
} from "../../app/_features/charts/colour-by.ts";
import { luminance } from "../helpers/luminance.ts";

const sweep = (widths: number[], seeds: number) =>
  widths.flatMap((width) =>
    Array.from({ length: seeds }, (_, seed) => ({
      params: { "model.width": width, "training.seed": seed, "model.depth": 2, optimizer: "adam" },
    })),
  );

describe("colour by a parameter", () => {
  it("never offers a seed", () => {
    expect(isSeedParam("training.seed")).toBe(true);
    expect(isSeedParam("seed")).toBe(true);
    expect(isSeedParam("model.seedling")).toBe(false);
    expect(colourByOptions(["model.width", "training.seed", "optimizer"], sweep([8, 16], 2))).toEqual([
      "model.width",
      "optimizer",
    ]);
  });

  it("colours past 20 lines by the most swept numeric parameter, not before", () => {
    const keys = ["model.depth", "model.width", "optimizer", "training.seed"];
    expect(defaultColourParam(keys, sweep([8, 16, 32, 64, 128], 4))).toBeNull();
    expect(defaultColourParam(keys, sweep([8, 16, 32, 64, 128, 256], 4))).toBe("model.width");
    // Only seeds vary: nothing to colour by.
    expect(defaultColourParam(keys, sweep([8], 24))).toBeNull();
  });

  it("gives every seed of a width one colour, lighter as the width grows, log-spaced past a 20x span", () => {
    const runs = sweep([8, 16, 32, 64, 128, 256], 4);
    for (const dark of [false, true]) {
      const colouring = colourByParam("model.width", runs, dark)!;
      expect(colouring.key.kind).toBe("numeric");
      if (colouring.key.kind !== "numeric") continue;
      expect(colouring.key.scale).toBe("log");
      expect(colouring.key.values.map((entry) => entry.position)).toEqual(
        [0, 0.2, 0.4, 0.6, 0.8, 1].map((position) => expect.closeTo(position, 10)),
      );
      const byWidth = new Map<number, Set<string>>();
      for (const run of runs) {
        const width = run.params["model.width"];
        byWidth.set(width, (byWidth.get(width) ?? new Set()).add(colouring.colorOf(run.params)));
      }
      expect([...byWidth.values()].map((colors) => colors.size)).toEqual([1, 1, 1, 1, 1, 1]);
      const colors = [...byWidth.values()].map((set) => [...set][0]!);
      expect(new Set(colors).size).toBe(6);
      const light = colors.map(luminance);
      expect(light).toEqual([...light].sort((a, b) => a - b));
    }
    const linear = colourByParam("model.width", sweep([8, 16], 2), false)!;
    expect(linear.key.kind === "numeric" && linear.key.scale).toBe("linear");
  });

  it("keeps the scale readable: darkest end visible on slate-900, lightest on white", () => {
    const contrast = (a: string, b: string) => {
      const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
      return (high! + 0.05) / (low! + 0.05);
    };
    expect(contrast(sequentialColor(0, true), "#0f172a")).toBeGreaterThan(3);
    expect(contrast(sequentialColor(1, false), "#ffffff")).toBeGreaterThan(1.8);
    expect(contrast(sequentialColor(0, false), "#ffffff")).toBeGreaterThan(3);
  });

  it("gives a string parameter a palette colour per value and a run without the value grey", () => {
    const runs = [
      { params: { optimizer: "sgd" } },
      { params: { optimizer: "adam" } },
      { params: { optimizer: "adam" } },
      { params: {} },
    ];
    const colouring = colourByParam("optimizer", runs, false)!;
    expect(colouring.key.kind).toBe("categorical");
    expect(colouring.key.values.map((entry) => entry.label)).toEqual(["adam", "sgd"]);
    expect(colouring.key.missing).toBe(1);
    const [sgd, adam, adam2, none] = runs.map((run) => colouring.colorOf(run.params));
    expect(adam).toBe(adam2);
    expect(adam).not.toBe(sgd);
    expect(none).not.toBe(adam);
    expect(none).not.toBe(sgd);
    expect(colourByParam("missing", runs, false)).toBeNull();
  });
});
