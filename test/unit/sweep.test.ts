import { describe, expect, it } from "vitest";
import { cellHash } from "../../server/domain/spec/cell-identity.ts";
import { getPath } from "../../server/domain/spec/config-paths.ts";
import { expandSweep, type Cell } from "../../server/domain/spec/expand-sweep.ts";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";

const BASE = {
  project: "sweeps",
  experiment: "expand",
  dataset: { kind: "teacher", inputs: 8, samples: 512 },
  model: { family: "mlp", depth: 2, width: 32 },
  training: { optimizer: { kind: "adam", lr: 0.01 }, budget: { steps: 100 } },
};

/** Expands a spec given as an object (written out as JSON, which is YAML too). */
function expand(spec: object, options: { force?: boolean } = {}): Cell[] {
  return expandSweep(parseSpec(JSON.stringify(spec), "spec.json"), options);
}
const withSweep = (sweep: object, overrides: object = {}) => expand({ ...BASE, ...overrides, sweep });
const expandYaml = (source: string) => expandSweep(parseSpec(source, "spec.yaml"));

const valueAt = (cell: Cell, path: string) => getPath(cell.config, path);
const hashesOf = (cells: Cell[]) => cells.map((cell) => cell.cellHash);
const sortedHashes = (cells: Cell[]) => [...hashesOf(cells)].sort();
const tuples = (cells: Cell[], paths: string[]) => cells.map((cell) => paths.map((path) => valueAt(cell, path)));

/** A small deterministic generator, so the "property" cases below are the same on every run. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % below;
  };
}

describe("grid sweeps", () => {
  it("gives one cell without a sweep, named after the experiment", () => {
    const cells = expand(BASE);
    expect(cells).toHaveLength(1);
    expect(cells[0]!.name).toBe("expand");
    expect(cells[0]!.params).toEqual({});
  });

  it("takes every combination once: the count is the product of the list lengths", () => {
    const axes: [string, (index: number) => number | string][] = [
      ["model.width", (index) => 8 * (index + 1)],
      ["model.depth", (index) => index + 1],
      ["training.optimizer.lr", (index) => 0.1 / 2 ** index],
      ["model.activation", (index) => ["relu", "gelu", "tanh", "sigmoid"][index]!],
    ];
    const random = lcg(7);
    for (let trial = 0; trial < 12; trial++) {
      const chosen = axes.filter(() => random(3) > 0);
      const lengths = chosen.map(() => 1 + random(4));
      const parameters = Object.fromEntries(
        chosen.map(([path, make], at) => [path, Array.from({ length: lengths[at]! }, (_, index) => make(index))]),
      );
      const cells = withSweep({ parameters });
      const expected = lengths.reduce((product, length) => product * length, 1);
      expect(cells, JSON.stringify(parameters)).toHaveLength(expected);
      const combinations = new Set(
        tuples(
          cells,
          chosen.map(([path]) => path),
        ).map((tuple) => JSON.stringify(tuple)),
      );
      expect(combinations.size).toBe(expected);
      expect(new Set(hashesOf(cells)).size).toBe(expected);
    }
  });

  it("accepts nested groups and dotted keys alike", () => {
    const dotted = withSweep({ parameters: { "model.width": [16, 32], "training.optimizer.lr": [0.1, 0.01] } });
    const nested = withSweep({
      parameters: { model: { width: [16, 32] }, training: { optimizer: { lr: [0.1, 0.01] } } },
    });
    expect(sortedHashes(nested)).toEqual(sortedHashes(dotted));
  });

  it("multiplies cells by seeds, a count or a list, each becoming training.seed", () => {
    const parameters = { "model.width": [16, 32] };
    const byCount = withSweep({ parameters, seeds: 3 });
    expect(byCount).toHaveLength(6);
    expect(byCount.map((cell) => valueAt(cell, "training.seed")).sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect(byCount.map((cell) => cell.params["training.seed"]).sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect(byCount[0]!.name).toBe("width=16 seed=0");

    const byList = withSweep({ parameters, seeds: [7, 11] });
    expect(byList).toHaveLength(4);
    expect(new Set(byList.map((cell) => valueAt(cell, "training.seed")))).toEqual(new Set([7, 11]));

    const seedsOnly = withSweep({ seeds: 5 });
    expect(seedsOnly).toHaveLength(5);
    expect(seedsOnly.map((cell) => cell.name)).toEqual(["seed=0", "seed=1", "seed=2", "seed=3", "seed=4"]);
  });

  it("zips: the i-th values of each list form one point", () => {
    const cells = withSweep({ zip: [{ "model.width": [16, 32, 64], "training.optimizer.lr": [0.1, 0.05, 0.025] }] });
    expect(tuples(cells, ["model.width", "training.optimizer.lr"])).toEqual([
      [16, 0.1],
      [32, 0.05],
      [64, 0.025],
    ]);
  });

  it("crosses zipped groups with grid parameters and seeds", () => {
    const cells = withSweep({
      parameters: { "model.depth": [1, 2] },
      zip: [{ "model.width": [16, 32, 64], "training.optimizer.lr": [0.1, 0.05, 0.025] }],
      seeds: 2,
    });
    expect(cells).toHaveLength(2 * 3 * 2);
    for (const cell of cells) {
      const width = valueAt(cell, "model.width") as number;
      expect(valueAt(cell, "training.optimizer.lr")).toBe({ 16: 0.1, 32: 0.05, 64: 0.025 }[width]);
    }
  });
});

describe("ranges", () => {
  const rangeValues = (range: object) =>
    withSweep({ parameters: { "model.width": { range } } }).map((cell) => valueAt(cell, "model.width"));
  const noiseValues = (range: object) =>
    withSweep({ parameters: { "dataset.noise": { range } } }).map((cell) => valueAt(cell, "dataset.noise"));

  it("a log range 16..1024 with step 2 doubles: 16, 32, ..., 1024", () => {
    expect(rangeValues({ from: 16, to: 1024, step: 2, log: true })).toEqual([16, 32, 64, 128, 256, 512, 1024]);
  });

  it("a linear range with step counts up and includes its end", () => {
    expect(rangeValues({ from: 8, to: 32, step: 8 })).toEqual([8, 16, 24, 32]);
    // Float steps come out as written, not 0.30000000000000004.
    expect(noiseValues({ from: 0.1, to: 1, step: 0.1 })).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  });

  it("steps gives that many evenly spaced values, geometric when log", () => {
    expect(noiseValues({ from: 0, to: 1, steps: 5 })).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const logValues = noiseValues({ from: 0.0001, to: 0.1, steps: 4, log: true }) as number[];
    expect(logValues).toHaveLength(4);
    [0.0001, 0.001, 0.01, 0.1].forEach((expected, index) => {
      expect(Math.abs(logValues[index]! / expected - 1)).toBeLessThan(1e-9);
    });
  });
});

describe("random sweeps", () => {
  const random = (seed: number, count = 20) =>
    withSweep({
      method: "random",
      count,
      seed,
      parameters: {
        "training.optimizer.lr": { loguniform: [0.0001, 0.1] },
        "dataset.noise": { uniform: [0, 0.5] },
        "model.width": { int: [8, 64] },
        "model.activation": { choice: ["relu", "tanh", "gelu"] },
      },
    });

  it("draws count points, each inside its distribution", () => {
    const cells = random(1);
    expect(cells).toHaveLength(20);
    for (const cell of cells) {
      const lr = valueAt(cell, "training.optimizer.lr") as number;
      const noise = valueAt(cell, "dataset.noise") as number;
      const width = valueAt(cell, "model.width") as number;
      expect(lr).toBeGreaterThanOrEqual(0.0001);
      expect(lr).toBeLessThanOrEqual(0.1);
      expect(noise).toBeGreaterThanOrEqual(0);
      expect(noise).toBeLessThanOrEqual(0.5);
      expect(Number.isInteger(width) && width >= 8 && width <= 64).toBe(true);
      expect(["relu", "tanh", "gelu"]).toContain(valueAt(cell, "model.activation"));
    }
  });

  it("is deterministic for a sampler seed and differs with another", () => {
    const first = random(1);
    expect(hashesOf(random(1))).toEqual(hashesOf(first));
    expect(random(1).map((cell) => cell.params)).toEqual(first.map((cell) => cell.params));
    const other = random(2);
    expect(other).toHaveLength(20);
    expect(sortedHashes(other)).not.toEqual(sortedHashes(first));
    expect(other.filter((cell) => hashesOf(first).includes(cell.cellHash))).toHaveLength(0);
  });

  it("the first points do not depend on how many are drawn", () => {
    expect(hashesOf(random(3, 5))).toEqual(hashesOf(random(3, 20)).slice(0, 5));
  });

  it("multiplies random points by seeds", () => {
    const cells = withSweep({
      method: "random",
      count: 4,
      seed: 9,
      parameters: { "training.optimizer.lr": { loguniform: [0.001, 0.1] } },
      seeds: 3,
    });
    expect(cells).toHaveLength(12);
  });
});

describe("where and derive", () => {
  it("matches ~= with RE2 semantics: a catastrophic pattern is answered at once, a backreference is refused", () => {
    const cells = withSweep({
      parameters: { "model.activation": ["relu", "gelu", "tanh"] },
      where: 'activation ~= "^(re|ta)"',
    });
    expect(cells.map((cell) => valueAt(cell, "model.activation"))).toEqual(["relu", "tanh"]);
    // JavaScript's RegExp backtracks for minutes on this; RE2 reads the text once.
    const hostile = `"${"a".repeat(400)}!" ~= "^(a+)+$"`;
    expect(() => withSweep({ parameters: { "model.width": [8, 16] }, where: hostile })).toThrow(/no cells left/);
    expect(() =>
      withSweep({ parameters: { "model.width": [8, 16] }, where: 'model.activation ~= "(t)\\\\1"' }),
    ).toThrow(/RE2 syntax: no backreferences or lookaround/);
  });

  it("where drops the cells whose constraint is false", () => {
    const widths = [16, 32, 64, 128];
    const depths = [1, 2, 3, 4];
    const cells = withSweep({
      parameters: { "model.width": widths, "model.depth": depths },
      where: "model.depth * model.width <= 128",
    });
    const expected = widths.flatMap((width) =>
      depths.filter((depth) => depth * width <= 128).map((depth) => [width, depth]),
    );
    expect(tuples(cells, ["model.width", "model.depth"])).toEqual(expected);
  });

  it("a list of constraints must all hold, and short names work when unique", () => {
    const cells = withSweep({
      parameters: { "model.width": [16, 32, 64, 128], "model.depth": [1, 2, 3] },
      where: ["width >= 32", "depth != 2", "not (width == 128 and depth == 3)"],
    });
    expect(tuples(cells, ["model.width", "model.depth"])).toEqual([
      [32, 1],
      [32, 3],
      [64, 1],
      [64, 3],
      [128, 1],
    ]);
  });

  it("derive sets values computed from the cell, in config and params", () => {
    const cells = withSweep({
      parameters: { "model.width": [16, 64, 256] },
      derive: { "training.optimizer.lr": "0.1 / sqrt(width)", "training.logEvery": "int(width / 16)" },
    });
    for (const cell of cells) {
      const width = valueAt(cell, "model.width") as number;
      expect(valueAt(cell, "training.optimizer.lr")).toBeCloseTo(0.1 / Math.sqrt(width), 12);
      expect(cell.params["training.optimizer.lr"]).toBe(valueAt(cell, "training.optimizer.lr"));
      expect(valueAt(cell, "training.logEvery")).toBe(Math.trunc(width / 16));
    }
    expect(cells.map((cell) => cell.name)).toEqual([
      "width=16 lr=0.025 logEvery=1",
      "width=64 lr=0.0125 logEvery=4",
      "width=256 lr=0.00625 logEvery=16",
    ]);
  });

  it("where sees derived values", () => {
    const cells = withSweep({
      parameters: { "model.width": [16, 64, 256] },
      derive: { "training.optimizer.lr": "0.1 / sqrt(width)" },
      where: "lr > 0.01",
    });
    expect(cells.map((cell) => valueAt(cell, "model.width"))).toEqual([16, 64]);
  });
});

describe("cell identity", () => {
  const ordered = `
project: identity
experiment: order
dataset: { kind: teacher, inputs: 8, noise: 0.05 }
model: { family: mlp, width: 32, depth: 2 }
training:
  optimizer: { kind: adam, lr: 0.01 }
  budget: { steps: 100 }
sweep:
  parameters:
    model.width: [16, 32, 64]
    training.optimizer.lr: [0.1, 0.01]
  seeds: [0, 1]
`;
  const reordered = `
sweep:
  seeds: [1, 0]
  parameters:
    training.optimizer.lr: [0.01, 0.1]
    model.width: [64, 16, 32]
training:
  budget: { steps: 100 }
  optimizer: { lr: 0.01, kind: adam }
model: { depth: 2, width: 32, family: mlp }
dataset: { noise: 0.05, inputs: 8, kind: teacher }
experiment: order
project: identity
`;

  it("does not depend on key order in the file or on the order of sweep values", () => {
    const a = expandYaml(ordered);
    const b = expandYaml(reordered);
    expect(a).toHaveLength(12);
    expect(sortedHashes(b)).toEqual(sortedHashes(a));
    // The same cell, found by its values, has the same hash in both.
    for (const cell of a) {
      const twin = b.find(
        (other) =>
          valueAt(other, "model.width") === valueAt(cell, "model.width") &&
          valueAt(other, "training.optimizer.lr") === valueAt(cell, "training.optimizer.lr") &&
          valueAt(other, "training.seed") === valueAt(cell, "training.seed"),
      );
      expect(twin?.cellHash).toBe(cell.cellHash);
    }
  });

  it("changes when any run setting changes", () => {
    const base = sortedHashes(expandYaml(ordered));
    expect(sortedHashes(expandYaml(ordered.replace("noise: 0.05", "noise: 0.06")))).not.toEqual(base);
    const one = expand(BASE)[0]!.cellHash;
    expect(expand({ ...BASE, model: { ...BASE.model, width: 33 } })[0]!.cellHash).not.toBe(one);
    expect(expand({ ...BASE, training: { ...BASE.training, seed: 1 } })[0]!.cellHash).not.toBe(one);
    expect(expand({ ...BASE, runner: { kind: "command", argv: ["python3", "train.py"] } })[0]!.cellHash).not.toBe(one);
    // Settings that do not define the run leave it alone.
    expect(
      expand({
        ...BASE,
        project: "other",
        experiment: "renamed",
        description: "words",
        priority: 5,
        metric: { name: "train/loss" },
      })[0]!.cellHash,
    ).toBe(one);
  });

  it("is the same for equal numbers however they are written", () => {
    const hashFor = (lr: string) =>
      expandYaml(
        `project: p\nexperiment: e\ndataset: { kind: teacher }\nmodel: { family: mlp, width: 32 }\ntraining: { optimizer: { lr: ${lr} }, budget: { steps: 100 } }\n`,
      )[0]!.cellHash;
    expect(hashFor("1e-1")).toBe(hashFor("0.1"));
    expect(hashFor("0.10")).toBe(hashFor("0.1"));
    expect(hashFor("1.0e-1")).toBe(hashFor("0.1"));
    expect(hashFor("0.2")).not.toBe(hashFor("0.1"));
  });

  it("is the same for a default written out and left out", () => {
    const implicit = expand(BASE)[0]!.cellHash;
    const explicit = expand({
      ...BASE,
      model: { ...BASE.model, activation: "relu", layerNorm: false, dropout: 0 },
      validation: { fraction: 0.2 },
      runner: { kind: "builtin" },
    })[0]!.cellHash;
    expect(explicit).toBe(implicit);
  });

  it("is the same for a derived value with float noise and the literal it rounds to", () => {
    const derived = withSweep({
      parameters: { "model.width": [32] },
      derive: { "training.optimizer.lr": "0.3 / 3" },
    })[0]!;
    expect(valueAt(derived, "training.optimizer.lr")).not.toBe(0.1); // 0.09999999999999999
    expect(derived.cellHash).toBe(
      expand({ ...BASE, training: { ...BASE.training, optimizer: { kind: "adam", lr: 0.1 } } })[0]!.cellHash,
    );
  });

  it("is cellHash of the cell's config", () => {
    for (const cell of expandYaml(ordered)) expect(cell.cellHash).toBe(cellHash(cell.config));
  });
});

describe("duplicates", () => {
  it("drops repeated values in a list", () => {
    const cells = withSweep({ parameters: { "model.width": [16, 16, 32, 16] } });
    expect(cells.map((cell) => valueAt(cell, "model.width"))).toEqual([16, 32]);
  });

  it("drops values that are equal once parsed (0.1 and 1e-1)", () => {
    expect(
      expandYaml(
        `project: p\nexperiment: e\ndataset: { kind: teacher }\nmodel: { family: mlp, width: 32 }\ntraining: { optimizer: { lr: 0.1 }, budget: { steps: 100 } }\nsweep:\n  parameters:\n    training.optimizer.lr: [0.1, 1e-1, 0.10]\n`,
      ),
    ).toHaveLength(1);
  });

  it("drops cells that differ only by float noise below the hash's precision", () => {
    expect(withSweep({ parameters: { "dataset.noise": [0.1, 0.1 + 1e-15] } })).toHaveLength(1);
  });

  it("drops cells made equal by derive, and repeated seeds", () => {
    expect(
      withSweep({
        parameters: { "training.optimizer.lr": [0.1, 0.2, 0.3] },
        derive: { "training.optimizer.lr": "0.05" },
      }),
    ).toHaveLength(1);
    expect(withSweep({ parameters: { "model.width": [16, 32] }, seeds: [3, 3, 4] })).toHaveLength(4);
  });

  it("gives every remaining cell a distinct hash", () => {
    const cells = withSweep({ parameters: { "model.width": [16, 32, 16], "model.depth": [1, 1, 2] }, seeds: [0, 0] });
    expect(cells).toHaveLength(4);
    expect(new Set(hashesOf(cells)).size).toBe(cells.length);
  });
});
