import { describe, expect, it } from "vitest";
import { flopsPerStep } from "../../server/domain/model-size/count-flops.ts";
import { datasetShape } from "../../server/domain/model-size/dataset-shape.ts";
import { namesExampleCount } from "../../server/domain/model-size/names-corpus.ts";
import { expandSweep } from "../../server/domain/spec/expand-sweep.ts";
import { MAX_ISOFLOP_EPOCHS, MIN_ISOFLOP_STEPS } from "../../server/domain/spec/isoflop-sweep.ts";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";
import { SpecError } from "../../server/domain/spec/spec-issue.ts";
import type { CellConfig } from "../../server/domain/spec/spec-schema.ts";
import { prepareData } from "../../worker/training/datasets.ts";

/** A teacher regression of 20000 samples: 16000 training examples after the default 0.2 validation split. */
const BASE = {
  project: "sweeps",
  experiment: "isoflop",
  dataset: { kind: "teacher", inputs: 8, samples: 20_000 },
  model: { family: "mlp", depth: 2, width: 32 },
  training: { optimizer: { kind: "adam", lr: 0.01 }, batchSize: 16 },
};
const TRAIN_EXAMPLES = 16_000;

const parse = (spec: object) => parseSpec(JSON.stringify(spec), "spec.json");
const stepFlops = (config: CellConfig) =>
  flopsPerStep(config.model, datasetShape(config.dataset), config.training.batchSize as number).total;

function issuesOf(spec: object): SpecError["issues"] {
  try {
    expandSweep(parse(spec));
  } catch (error) {
    if (error instanceof SpecError) return error.issues;
    throw error;
  }
  throw new Error("expected the spec to be refused");
}

describe("IsoFLOP sweeps", () => {
  it("gives every width at every budget the steps its exact FLOPs per step allow, and records the budget", () => {
    const budgets = [1e7, 3e7];
    const widths = [8, 16, 32];
    const parsed = parse({
      ...BASE,
      sweep: { isoflop: { budgets, parameters: { "model.width": widths } }, seeds: 2 },
    });
    const cells = expandSweep(parsed);
    expect(parsed.droppedCells).toEqual([]);
    expect(cells).toHaveLength(budgets.length * widths.length * 2);
    for (const cell of cells) {
      const budget = cell.config.training.isoflopBudget!;
      expect(budgets).toContain(budget);
      expect(cell.params["training.isoflopBudget"]).toBe(budget);
      const perStep = stepFlops(cell.config);
      const steps = cell.config.training.budget.steps!;
      expect(steps).toBe(Math.round(budget / perStep));
      // The nearest whole number of steps: within half a step's FLOPs of the budget.
      expect(Math.abs(steps * perStep - budget)).toBeLessThanOrEqual(perStep / 2);
      expect(Object.keys(cell.config.training.budget)).toEqual(["steps"]);
    }
    const at = (budget: number, width: number) =>
      cells.find(
        (cell) =>
          cell.config.training.isoflopBudget === budget &&
          cell.config.model.family === "mlp" &&
          cell.config.model.width === width,
      )!;
    // At one budget a wider model trains fewer steps; at three times the budget, about three times as many.
    expect(at(1e7, 8).config.training.budget.steps!).toBeGreaterThan(at(1e7, 32).config.training.budget.steps!);
    expect(at(3e7, 16).config.training.budget.steps! / at(1e7, 16).config.training.budget.steps!).toBeCloseTo(3, 1);
    expect(cells.map((cell) => cell.name)).toContain("isoflopBudget=3e7 width=16 seed=1");
  });

  it("drops a cell that would train too few steps or repeat its data too often, and says why", () => {
    // Width 8 at 2e8 FLOPs: far more than 4 epochs of 16000 examples; widths 64 and 1024 at 2e6: a few steps or none.
    const parsed = parse({
      ...BASE,
      sweep: { isoflop: { budgets: [2e6, 2e8], parameters: { "model.width": [8, 64, 1024] } } },
    });
    const cells = expandSweep(parsed);
    const dropped = parsed.droppedCells!;
    expect(cells.map((cell) => cell.name)).toEqual(["isoflopBudget=2e6 width=8", "isoflopBudget=2e8 width=64"]);
    expect(dropped).toHaveLength(4);
    const few = dropped.find((cell) => cell.name === "isoflopBudget=2e6 width=1024")!;
    expect(few.reason).toMatch(
      new RegExp(`at 2e6 FLOPs it would train \\d+ steps? of .* FLOPs, fewer than ${MIN_ISOFLOP_STEPS}`),
    );
    const repeated = dropped.find((cell) => cell.name === "isoflopBudget=2e8 width=8")!;
    expect(repeated.reason).toMatch(
      new RegExp(
        `at 2e8 FLOPs it would train \\d+ steps, [\\d.]+ epochs of its ${TRAIN_EXAMPLES} training examples \\(more than ${MAX_ISOFLOP_EPOCHS}\\)`,
      ),
    );
    expect(repeated.params).toEqual({ "training.isoflopBudget": 2e8, "model.width": 8 });
    for (const cell of cells) {
      const steps = cell.config.training.budget.steps!;
      expect(steps).toBeGreaterThanOrEqual(MIN_ISOFLOP_STEPS);
      expect((steps * 16) / TRAIN_EXAMPLES).toBeLessThanOrEqual(MAX_ISOFLOP_EPOCHS);
    }
  });

  it("combines with sweep.parameters and derive, which sees each cell's steps", () => {
    const cells = expandSweep(
      parse({
        ...BASE,
        sweep: {
          parameters: { "training.optimizer.lr": [0.01, 0.003] },
          isoflop: { budgets: [1e7], parameters: { "model.width": [16, 32] } },
          derive: { "training.schedule.warmupSteps": "int(training.budget.steps / 10)" },
        },
      }),
    );
    expect(cells).toHaveLength(4);
    for (const cell of cells)
      expect(cell.config.training.schedule.warmupSteps).toBe(Math.trunc(cell.config.training.budget.steps! / 10));
  });

  it("counts the names corpus's examples as the trainer builds them", () => {
    for (const model of [
      { family: "char-mlp", context: 3, embedding: 8, hidden: 16, depth: 1, activation: "tanh" },
      { family: "transformer", layers: 1, dModel: 16, heads: 2, context: 16, mlpRatio: 4 },
    ] as const) {
      const config = expandSweep(
        parse({
          ...BASE,
          dataset: { kind: "names", source: "female" },
          model,
          training: { ...BASE.training, budget: { steps: 1 } },
        }),
      )[0]!.config;
      const data = prepareData(config);
      expect(namesExampleCount("female", config.model), model.family).toBe(data.trainCount + data.valCount);
    }
  });

  it("refuses what would fight over the training length, naming where", () => {
    const sweep = { isoflop: { budgets: [1e8], parameters: { "model.width": [16] } } };
    expect(issuesOf({ ...BASE, sweep: { ...sweep, parameters: { "training.budget.steps": [10, 20] } } })).toEqual([
      expect.objectContaining({
        path: "sweep.parameters.training.budget.steps",
        message: "training.budget.steps is set by sweep.isoflop from each cell's FLOP budget",
      }),
    ]);
    expect(issuesOf({ ...BASE, sweep: { ...sweep, method: "random", count: 3 } })).toEqual([
      expect.objectContaining({
        path: "sweep.isoflop",
        message: expect.stringContaining("an IsoFLOP sweep is a grid"),
      }),
    ]);
    expect(
      issuesOf({ ...BASE, sweep: { isoflop: { budgets: [1e3], parameters: { "model.width": [16, 32] } } } }),
    ).toEqual([
      expect.objectContaining({
        path: "sweep.isoflop",
        message: expect.stringMatching(
          /^the IsoFLOP sweep drops every cell \(2\), for example isoflopBudget=1e3 width=16: at 1e3 FLOPs it would train 0 steps/,
        ),
      }),
    ]);
    expect(issuesOf({ ...BASE, sweep: { isoflop: { budgets: [-1] } } })).toEqual([
      expect.objectContaining({ path: "sweep.isoflop.budgets[0]", message: "a FLOP budget must be above 0" }),
    ]);
  });

  it("replaces a training.budget the spec gives, which still needs one without an IsoFLOP sweep", () => {
    const withBudget = { ...BASE, training: { ...BASE.training, budget: { epochs: 2 } } };
    const [cell] = expandSweep(
      parse({ ...withBudget, sweep: { isoflop: { budgets: [1e7], parameters: { "model.width": [16] } } } }),
    );
    expect(cell!.config.training.budget).toEqual({ steps: Math.round(1e7 / stepFlops(cell!.config)) });
    expect(expandSweep(parse(withBudget))[0]!.config.training.budget).toEqual({ epochs: 2 });
    expect(() => parse(BASE)).toThrow(/budget is required/);
  });
});
