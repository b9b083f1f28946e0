import { describe, expect, it } from "vitest";
import { diffConfigs, flattenRunConfig, MAX_CONFIG_KEYS } from "../../server/domain/config/diff-configs.ts";
import { parseReportSnapshot } from "../../server/domain/report/report-snapshot.ts";

/** Two resolved configs as the spec schema stores them: a linear regression on a CSV and an MLP width sweep cell. */
const linear = {
  params: {},
  dataset: { kind: "csv", path: "data/linear-regression.csv", features: ["x1", "x2"], target: "y" },
  validation: { fraction: 0 },
  model: { family: "linear", bias: true },
  training: { optimizer: { kind: "gd", lr: 0.01 }, schedule: null, budget: { steps: 1000 }, seed: 0 },
  runner: { kind: "builtin" },
};
const mlp = {
  params: { "model.width": 64, "training.seed": 1 },
  dataset: { kind: "teacher", inputs: 16 },
  validation: { fraction: 0 },
  model: { family: "mlp", width: 64, depth: 2 },
  training: { optimizer: { kind: "adam", lr: 0.003 }, schedule: { kind: "cosine" }, budget: { steps: 1000 }, seed: 1 },
  runner: { kind: "builtin" },
};

const keysOf = (rows: { key: string }[]) => rows.map((row) => row.key);

describe("diffConfigs: what differs over the whole resolved config", () => {
  it("flattens nested settings into dotted keys and keeps arrays as values", () => {
    const flat = flattenRunConfig(linear).values;
    expect(flat.get("model.family")).toBe("linear");
    expect(flat.get("training.optimizer.kind")).toBe("gd");
    expect(flat.get("dataset.features")).toEqual(["x1", "x2"]);
    expect(flat.has("dataset.features.0")).toBe(false);
    expect(flat.get("training.schedule")).toBeNull();
  });

  it("lists a swept value once, at its path; a logged run's hyperparameters under their own names", () => {
    const flat = flattenRunConfig(mlp).values;
    expect(flat.get("model.width")).toBe(64);
    expect([...flat.keys()].filter((key) => key.startsWith("params."))).toEqual([]);
    const logged = flattenRunConfig({ params: { lr: 0.1, model: { width: 8 } }, runner: { kind: "tracked" } }).values;
    expect(Object.fromEntries(logged)).toEqual({ lr: 0.1, "model.width": 8, "runner.kind": "tracked" });
    // A swept value the settings disagree with is kept apart, not hidden.
    const odd = flattenRunConfig({ params: { "model.width": 8 }, model: { width: 16 } }).values;
    expect(odd.get("model.width")).toBe(16);
    expect(odd.get("params.model.width")).toBe(8);
  });

  it("a linear regression against an MLP differs in model, dataset and optimizer, not only in swept keys", () => {
    const diff = diffConfigs([linear, mlp]);
    expect(keysOf(diff.differing)).toEqual([
      "dataset.features",
      "dataset.inputs",
      "dataset.kind",
      "dataset.path",
      "dataset.target",
      "model.bias",
      "model.depth",
      "model.family",
      "model.width",
      "training.optimizer.kind",
      "training.optimizer.lr",
      "training.schedule",
      "training.schedule.kind",
      "training.seed",
    ]);
    expect(diff.differing.find((row) => row.key === "model.family")?.values).toEqual(["linear", "mlp"]);
    // The keys both share are folded apart, with their one value.
    expect(diff.same).toEqual([
      { key: "runner.kind", value: "builtin" },
      { key: "training.budget.steps", value: 1000 },
      { key: "validation.fraction", value: 0 },
    ]);
    expect(diff.truncated).toBe(false);
  });

  it("tells a key a run lacks (undefined) from a key set to null", () => {
    const diff = diffConfigs([{ model: { dropout: null } }, { model: {} }, { model: { dropout: null } }]);
    // The second run's empty model is a value of its own.
    expect(diff.differing).toEqual([
      { key: "model", values: [undefined, {}, undefined] },
      { key: "model.dropout", values: [null, undefined, null] },
    ]);
    const nulls = diffConfigs([{ a: null }, { a: null }]);
    expect(nulls).toEqual({ differing: [], same: [{ key: "a", value: null }], truncated: false });
  });

  it("compares objects whatever their key order, and arrays in order", () => {
    const diff = diffConfigs([
      { x: [{ a: 1, b: 2 }], y: [1, 2] },
      { x: [{ b: 2, a: 1 }], y: [2, 1] },
    ]);
    expect(keysOf(diff.same)).toEqual(["x"]);
    expect(keysOf(diff.differing)).toEqual(["y"]);
  });

  it(`reads at most ${MAX_CONFIG_KEYS} keys of one run's config and says so`, () => {
    const huge = { params: Object.fromEntries(Array.from({ length: 5_000 }, (_, index) => [`k${index}`, index])) };
    const diff = diffConfigs([huge, huge]);
    expect(diff.same.length).toBe(MAX_CONFIG_KEYS);
    expect(diff.truncated).toBe(true);
  });

  it("a report frozen before this rule (swept values, no settings in its config) still diffs", () => {
    const snapshot = parseReportSnapshot({
      title: "Old",
      body: "",
      frozen: true,
      capturedAt: "2026-01-01T00:00:00.000Z",
      publishedAt: "2026-01-01T00:00:00.000Z",
      missingRunCount: 0,
      panels: [{ kind: "config-diff", panel: { kind: "config-diff" } }],
      runs: ["w8", "w16"].map((name, index) => ({
        id: `r${index}`,
        name,
        status: "succeeded",
        params: { "model.width": 8 * (index + 1) },
        config: { params: { "model.width": 8 * (index + 1) } },
        paramCount: 1,
        totalFlops: 1,
        wallClockSeconds: 1,
        metrics: {},
      })),
    });
    const diff = diffConfigs(snapshot.runs.map((run) => run.config));
    expect(diff.differing).toEqual([{ key: "model.width", values: [8, 16] }]);
  });
});
