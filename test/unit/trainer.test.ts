import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { countParams } from "../../server/domain/model-size/count-params.ts";
import { datasetShape } from "../../server/domain/model-size/dataset-shape.ts";
import { cellConfigOf } from "../../server/domain/spec/expand-sweep.ts";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";
import { ZSpec, type CellConfig, type SpecInput } from "../../server/domain/spec/spec-schema.ts";
import { loadBackend, type LoadedBackend } from "../../worker/training/backend.ts";
import { prepareData } from "../../worker/training/datasets.ts";
import { buildModel } from "../../worker/training/models.ts";
import { learningRateAt } from "../../worker/training/optimizer.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../../worker/training/checkpoint-format.ts";
import {
  TRAIN_SECONDS_KEY,
  trainCell,
  WARMUP_STEPS,
  type MetricPointOut,
  type TrainerState,
} from "../../worker/training/train-cell.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
let cpu: LoadedBackend;
beforeAll(async () => {
  cpu = await loadBackend("cpu");
  expect(cpu.name).toBe("cpu");
});

function config(overrides: Partial<SpecInput>): CellConfig {
  return cellConfigOf(
    ZSpec.parse({
      project: "t",
      experiment: "t",
      dataset: { kind: "teacher", inputs: 4, samples: 256 },
      model: { family: "mlp", width: 8, depth: 1 },
      training: {
        optimizer: { kind: "adam", lr: 0.01 },
        batchSize: 32,
        budget: { steps: 30 },
        logEvery: 1,
        evalEvery: 10,
      },
      ...overrides,
    } satisfies SpecInput),
  );
}

async function train(cell: CellConfig, loaded = cpu) {
  const points: MetricPointOut[] = [];
  const result = await trainCell(cell, { loaded, hooks: { onPoints: (batch) => points.push(...batch) } });
  const series = (key: string) =>
    points.filter((point) => point.key === key).map((point) => [point.step, point.value] as const);
  return { result, points, series };
}

describe("the seed example: linear regression by full-batch gradient descent", () => {
  it("reproduces a float64 reference loop over the same CSV step for step", async () => {
    const specFile = path.join(ROOT, "examples/linear-regression.yaml");
    const spec = parseSpec(readFileSync(specFile, "utf8"), specFile).spec;
    const cell = cellConfigOf(spec);
    const { series } = await train(cell);
    const logged = new Map(series("train/loss"));

    // The reference: X @ theta (a matrix product, the seed article's bug fixed), MSE, plain GD, float64.
    if (spec.dataset.kind !== "csv") throw new Error("the example should read its CSV");
    const rows = parseCsv(readFileSync(path.join(ROOT, "examples", spec.dataset.path), "utf8"), {
      columns: true,
    }) as Record<string, string>[];
    const X = rows.map((row) =>
      spec.dataset.kind === "csv" ? spec.dataset.features.map((column) => Number(row[column])) : [],
    );
    const y = rows.map((row) => Number(row.y));
    const n = X.length;
    const features = X[0]!.length;
    const theta = new Float64Array(features);
    let bias = 0;
    const useBias = spec.model.family === "linear" && spec.model.bias;
    const lr = spec.training.optimizer.lr;
    const reference = new Map<number, number>();
    for (let step = 0; step < 1000; step++) {
      const residual = X.map(
        (row, index) => row.reduce((sum, value, at) => sum + value * theta[at]!, 0) + bias - y[index]!,
      );
      reference.set(step, residual.reduce((sum, value) => sum + value * value, 0) / n);
      for (let at = 0; at < features; at++)
        theta[at]! -= lr * (2 / n) * residual.reduce((sum, value, index) => sum + value * X[index]![at]!, 0);
      if (useBias) bias -= lr * (2 / n) * residual.reduce((sum, value) => sum + value, 0);
    }
    for (const step of [0, 100, 999]) {
      const ours = logged.get(step)!;
      const expected = reference.get(step)!;
      expect(Math.abs(ours - expected) / expected, `step ${step}: ${ours} vs ${expected}`).toBeLessThan(1e-4);
    }
  });
});

describe("gradients", () => {
  it("match central finite differences for a small MLP", async () => {
    const { tf } = cpu;
    const cell = config({ model: { family: "mlp", width: 5, depth: 2, activation: "tanh" } });
    const data = prepareData(cell);
    const model = buildModel(tf, cell.model, data, 3);
    const x = tf.tensor(data.xTrain.slice(0, 16 * 4), [16, 4]);
    const y = tf.tensor(data.yTrain.slice(0, 16), [16, 1]);
    const loss = () => tf.losses.meanSquaredError(y, model.forward(x, false, 0)) as ReturnType<typeof tf.scalar>;
    const { grads } = tf.variableGrads(loss, model.variables);
    let checked = 0;
    for (const variable of model.variables) {
      const analytic = grads[variable.name]!.dataSync();
      const values = variable.dataSync().slice();
      for (const index of [0, Math.floor(values.length / 2), values.length - 1]) {
        const eps = 1e-2;
        const at = (delta: number) => {
          const changed = values.slice();
          changed[index]! += delta;
          variable.assign(tf.tensor(changed, variable.shape));
          return loss().dataSync()[0]!;
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        variable.assign(tf.tensor(values, variable.shape));
        expect(Math.abs(numeric - analytic[index]!), `${variable.name}[${index}]`).toBeLessThan(
          2e-3 + 2e-2 * Math.abs(numeric),
        );
        checked += 1;
      }
    }
    expect(checked).toBe(3 * model.variables.length);
  });

  it("are the same on wasm (with the explicit-transpose matMul) as on cpu", async () => {
    const wasm = await loadBackend("wasm");
    expect(wasm.name).toBe("wasm");
    const cell = config({
      dataset: { kind: "teacher", inputs: 32, samples: 256 },
      model: { family: "mlp", width: 64, depth: 2 },
    });
    const data = prepareData(cell);
    const gradsOn = async (loaded: LoadedBackend) => {
      await loaded.tf.setBackend(loaded.name === "wasm" ? "wasm" : "cpu");
      const { tf } = loaded;
      const model = buildModel(tf, cell.model, data, 1);
      const x = tf.tensor(data.xTrain.slice(0, 64 * 32), [64, 32]);
      const y = tf.tensor(data.yTrain.slice(0, 64), [64, 1]);
      const { grads } = tf.variableGrads(
        () => tf.losses.meanSquaredError(y, model.forward(x, true, 0)) as ReturnType<typeof tf.scalar>,
        model.variables,
      );
      return model.variables.map((variable) => Array.from(grads[variable.name]!.dataSync()));
    };
    const onWasm = await gradsOn(wasm);
    const onCpu = await gradsOn(cpu);
    await cpu.tf.setBackend("cpu");
    onCpu.forEach((grad, index) => {
      const scale = Math.max(...grad.map(Math.abs));
      const worst = Math.max(...grad.map((value, at) => Math.abs(value - onWasm[index]![at]!)));
      expect(worst / scale).toBeLessThan(1e-4);
    });
  });
});

describe("models", () => {
  const cases: [string, Partial<SpecInput>][] = [
    ["linear", { model: { family: "linear" } }],
    [
      "mlp with layer norm and dropout",
      { model: { family: "mlp", width: 12, depth: 3, layerNorm: true, dropout: 0.1 } },
    ],
    [
      "char-mlp",
      { dataset: { kind: "names" }, model: { family: "char-mlp", context: 3, embedding: 4, hidden: 16, depth: 2 } },
    ],
    [
      "transformer",
      { dataset: { kind: "names" }, model: { family: "transformer", layers: 2, dModel: 16, heads: 2, context: 8 } },
    ],
  ];
  for (const [name, overrides] of cases) {
    it(`${name}: the built model has exactly the analytic parameter count`, () => {
      const cell = config(overrides);
      const model = buildModel(cpu.tf, cell.model, prepareData(cell), 0);
      expect(model.paramCount).toBe(countParams(cell.model, datasetShape(cell.dataset)));
      for (const variable of model.variables) variable.dispose();
    });
  }

  it("an MLP has the same count as the equivalent tfjs layers model's countParams()", () => {
    const { tf } = cpu;
    const cell = config({ model: { family: "mlp", width: 24, depth: 2 } });
    const ours = buildModel(tf, cell.model, prepareData(cell), 0);
    const layers = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 24 }),
        tf.layers.dense({ units: 24 }),
        tf.layers.dense({ units: 1 }),
      ],
    });
    expect(ours.paramCount).toBe(layers.countParams());
    expect(ours.paramCount).toBe(4 * 24 + 24 + (24 * 24 + 24) + 24 + 1);
  });
});

describe("training", () => {
  const datasets: Partial<SpecInput>["dataset"][] = [
    { kind: "teacher", inputs: 4, samples: 256 },
    { kind: "spirals", samples: 300 },
    { kind: "parity", bits: 4, samples: 256 },
    { kind: "iris" },
    { kind: "csv", path: "data/linear-regression.csv", features: ["x1", "x2", "x3"], target: "y" },
  ];
  for (const dataset of datasets) {
    for (const family of ["linear", "mlp"] as const) {
      it(`${family} learns on ${dataset!.kind}`, async () => {
        const cell = config({
          dataset,
          model: family === "mlp" ? { family, width: 16, depth: 1 } : { family },
          training: {
            optimizer: { kind: "adam", lr: 0.03 },
            batchSize: 32,
            budget: { steps: 60 },
            logEvery: 1,
            evalEvery: 20,
          },
        });
        const { result, series } = await train(cell);
        expect(result.status).toBe("succeeded");
        const losses = series("train/loss").map(([, value]) => value);
        const early = losses.slice(0, 5).reduce((sum, value) => sum + value, 0) / 5;
        const late = losses.slice(-5).reduce((sum, value) => sum + value, 0) / 5;
        expect(late).toBeLessThan(early);
        expect(series("val/loss").length).toBeGreaterThan(0);
      });
    }
  }
  for (const family of ["char-mlp", "transformer"] as const) {
    it(`${family} learns on the names corpus`, async () => {
      const model =
        family === "char-mlp"
          ? { family, context: 3, embedding: 8, hidden: 32 }
          : { family, layers: 1, dModel: 16, heads: 2, context: 8 };
      const cell = config({
        dataset: { kind: "names" },
        model,
        training: {
          optimizer: { kind: "adam", lr: 0.01 },
          batchSize: 32,
          budget: { steps: 80 },
          logEvery: 1,
          evalEvery: 40,
        },
      });
      const { result, series } = await train(cell);
      expect(result.status).toBe("succeeded");
      const losses = series("train/loss").map(([, value]) => value);
      expect(losses.at(-1)!).toBeLessThan(Math.log(27));
      expect(series("tokens").length).toBeGreaterThan(0);
    });
  }

  it("logs cumulative FLOPs, samples, learning rate, gradient norm, throughput and wall-clock", async () => {
    const { result, series } = await train(
      config({
        training: {
          optimizer: { kind: "sgd", lr: 0.05, momentum: 0.9 },
          schedule: { kind: "cosine", warmupSteps: 5 },
          batchSize: 16,
          budget: { steps: 20 },
          logEvery: 5,
          evalEvery: 10,
          clipGradNorm: 1,
        },
      }),
    );
    expect(result.status).toBe("succeeded");
    const flops = series("flops");
    expect(flops[0]).toEqual([0, result.summary.flopsPerStep]);
    expect(flops.at(-1)![1]).toBeCloseTo(result.summary.flopsPerStep * 20, 0);
    expect(series("samples").map(([step, value]) => value / (step + 1))).toEqual(series("samples").map(() => 16));
    expect(series("lr").length).toBe(4);
    expect(series("grad_norm").every(([, value]) => value > 0)).toBe(true);
    expect(series("samples_per_sec").length).toBeGreaterThan(0);
    const wall = series("wallclock").map(([, value]) => value);
    expect([...wall].sort((a, b) => a - b)).toEqual(wall);
    expect(result.summary).toMatchObject({
      steps: 20,
      backend: "cpu",
      seed: 0,
      paramCount: result.summary.paramCountExpected,
    });
  });

  it("records D (tokens, samples) and clean time: train, eval and overhead seconds, steady-state throughput", async () => {
    const cell = config({
      dataset: { kind: "names" },
      model: { family: "transformer", layers: 1, dModel: 16, heads: 2, context: 8 },
      training: {
        optimizer: { kind: "adam", lr: 0.01 },
        batchSize: 16,
        budget: { steps: 30 },
        logEvery: 5,
        evalEvery: 10,
      },
    });
    const { result, series } = await train(cell);
    expect(result.status).toBe("succeeded");
    const summary = result.summary;
    // A transformer predicts every position of its context: 30 steps x 16 sequences x 8 tokens.
    expect(summary).toMatchObject({ steps: 30, samples: 30 * 16, tokens: 30 * 16 * 8 });
    expect(summary.steadyStateSteps).toBe(30 - WARMUP_STEPS);
    expect(summary.trainSeconds).toBeGreaterThan(0);
    expect(summary.evalSeconds).toBeGreaterThan(0);
    expect(summary.overheadSeconds).toBeGreaterThan(0);
    // Training and evaluation happen inside the training loop that wall-clock times; set-up is overhead only.
    expect(summary.trainSeconds + summary.evalSeconds).toBeLessThanOrEqual(summary.wallClockSeconds);
    expect(summary.samplesPerSecond).toBeGreaterThan(0);
    const trainSeconds = series(TRAIN_SECONDS_KEY);
    expect(trainSeconds.map(([step]) => step)).toEqual([0, 5, 10, 15, 20, 25, 29]);
    expect(trainSeconds.at(-1)![1]).toBeCloseTo(summary.trainSeconds, 6);
    const values = trainSeconds.map(([, value]) => value);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    const wall = new Map(series("wallclock"));
    for (const [step, value] of trainSeconds) expect(value).toBeLessThanOrEqual(wall.get(step)!);
    expect(series("tokens").at(-1)).toEqual([29, 30 * 16 * 8]);
    expect(series("samples").at(-1)).toEqual([29, 30 * 16]);
    // An MLP on a regression has samples and no tokens.
    const mlp = (await train(config({}))).result.summary;
    expect(mlp).toMatchObject({ samples: 30 * 32, tokens: null });
  });

  it("gives the same loss curve for the same config, seed and backend", async () => {
    const cell = config({ model: { family: "mlp", width: 8, depth: 1, dropout: 0.2 } });
    const first = (await train(cell)).series("train/loss");
    const second = (await train(cell)).series("train/loss");
    expect(second).toEqual(first);
    const otherSeed = (await train({ ...cell, training: { ...cell.training, seed: 1 } })).series("train/loss");
    expect(otherSeed).not.toEqual(first);
  });

  it("trains one epoch of mini-batches on every training example once, inputs and targets kept together", async () => {
    // samples 300, validation 0.2: 240 training examples, 4 batches of 60. With a learning rate of
    // 1e-12 the model does not move, so the mean of the four batch losses is the full-batch loss.
    for (const dataset of [
      { kind: "teacher", inputs: 4, samples: 300 },
      { kind: "spirals", samples: 300 },
    ] as const) {
      const cell = (batchSize: number | "full", steps: number) =>
        config({
          dataset,
          training: {
            optimizer: { kind: "sgd", lr: 1e-12 },
            batchSize,
            budget: { steps },
            logEvery: 1,
            evalEvery: 100,
          },
        });
      const full = (await train(cell("full", 1))).series("train/loss");
      // The closing points repeat the last step's loss: one value per step.
      const batches = [...new Map((await train(cell(60, 4))).series("train/loss"))];
      expect(batches.map(([step]) => step)).toEqual([0, 1, 2, 3]);
      const mean = batches.reduce((sum, [, value]) => sum + value, 0) / batches.length;
      expect(Math.abs(mean - full[0]![1]) / full[0]![1], dataset.kind).toBeLessThan(1e-5);
      // ...and the batches differ from one another (they are not the same rows four times).
      expect(new Set(batches.map(([, value]) => value)).size, dataset.kind).toBe(4);
    }
  });

  it("stops as diverged at the step the loss stops being finite", async () => {
    const { result } = await train(
      config({ training: { optimizer: { kind: "sgd", lr: 1e6 }, batchSize: 32, budget: { steps: 50 }, logEvery: 1 } }),
    );
    expect(result.status).toBe("diverged");
    if (result.status === "diverged") {
      expect(result.step).toBeGreaterThan(0);
      expect(result.error).toMatch(/became (NaN|Infinity|-Infinity) at step \d+/);
    }
  });

  it("continues from a checkpoint exactly as if it had not stopped", async () => {
    const cell = config({
      training: {
        optimizer: { kind: "adam", lr: 0.01 },
        batchSize: 16,
        budget: { steps: 40 },
        logEvery: 1,
        evalEvery: 100,
      },
    });
    const whole = (await train(cell)).series("train/loss");
    let saved: TrainerState | null = null;
    let steps = 0;
    const stopped = await trainCell(cell, {
      loaded: cpu,
      hooks: {
        onProgress: ({ step }) => (steps = step),
        shouldStop: () => steps >= 25,
        onCheckpoint: (state) => {
          saved = state;
        },
      },
    });
    expect(stopped.status).toBe("stopped");
    expect(saved!.step).toBe(25);
    const points: MetricPointOut[] = [];
    const resumed = await trainCell(cell, {
      loaded: cpu,
      hooks: { resumeFrom: saved, onPoints: (batch) => points.push(...batch) },
    });
    expect(resumed.status).toBe("succeeded");
    // Clean time goes on from the checkpoint (through its bytes, as a worker stores it): each attempt warms up.
    const clock = decodeCheckpoint(encodeCheckpoint(saved!)).clock!;
    expect(clock.trainSeconds).toBeGreaterThan(0);
    expect(clock.steadySteps).toBe(25 - WARMUP_STEPS);
    expect(resumed.summary.trainSeconds).toBeGreaterThan(clock.trainSeconds);
    expect(resumed.summary.steadyStateSteps).toBe(25 - WARMUP_STEPS + (15 - WARMUP_STEPS));
    const tail = points
      .filter((point) => point.key === "train/loss" && point.step < 39)
      .map((point) => [point.step, point.value] as const);
    const expected = whole.filter(([step]) => step >= 25 && step < 39);
    expect(tail.map(([step]) => step)).toEqual(expected.map(([step]) => step));
    // tfjs's Adam recomputes beta^t with pow() on restore instead of repeated products: float32 noise only.
    tail.forEach(([, value], index) => {
      expect(Math.abs(value - expected[index]![1]) / expected[index]![1]).toBeLessThan(1e-5);
    });
  });
});

describe("learning-rate schedules", () => {
  const training = (schedule: object) =>
    config({ training: { optimizer: { lr: 1 }, schedule, budget: { steps: 100 } } as never }).training;
  it("warms up linearly, then holds (warmup) or decays along a cosine to the floor", () => {
    expect(learningRateAt(training({ kind: "constant" }), 50, 100)).toBe(1);
    expect(learningRateAt(training({ kind: "warmup", warmupSteps: 10 }), 4, 100)).toBeCloseTo(0.5);
    expect(learningRateAt(training({ kind: "warmup", warmupSteps: 10 }), 60, 100)).toBe(1);
    const cosine = training({ kind: "cosine", warmupSteps: 0, minLrRatio: 0.1 });
    expect(learningRateAt(cosine, 0, 100)).toBeCloseTo(1);
    expect(learningRateAt(cosine, 50, 100)).toBeCloseTo(0.55);
    expect(learningRateAt(cosine, 100, 100)).toBeCloseTo(0.1);
  });
});
