import { describe, expect, it } from "vitest";
import { AppError } from "../../server/domain/app-error.ts";
import { flopsPerStep, sizeOfCell, tokensOrSamplesPerStep, trainingSteps, trainSampleCount } from "../../server/domain/model-size/count-flops.ts";
import { countParams } from "../../server/domain/model-size/count-params.ts";
import { datasetShape, NAMES_ALPHABET, type DatasetShape } from "../../server/domain/model-size/dataset-shape.ts";
import { ZDataset, ZModel, ZSpec, ZTraining, type CellConfig, type SpecInput } from "../../server/domain/spec/spec-schema.ts";

// Parse through the real schemas so the defaults the planner sees are the ones tested here.
const dataset = (input: unknown) => ZDataset.parse(input);
const model = (input: unknown) => ZModel.parse(input);
const training = (input: unknown) => ZTraining.parse({ optimizer: { lr: 0.01 }, ...(input as object) });
const shapeOf = (input: unknown) => datasetShape(dataset(input));

function cell(overrides: Partial<SpecInput>): CellConfig {
  const spec = ZSpec.parse({
    project: "sizes",
    experiment: "count",
    dataset: { kind: "teacher" },
    model: { family: "mlp", width: 32 },
    training: { optimizer: { lr: 0.01 }, budget: { steps: 100 } },
    ...overrides,
  });
  return { dataset: spec.dataset, validation: spec.validation, model: spec.model, training: spec.training, runner: spec.runner };
}

/** Relative closeness: actual/expected within 1%. */
function expectWithinOnePercent(actual: number, expected: number) {
  expect(Math.abs(actual / expected - 1)).toBeLessThan(0.01);
}

const teacher16to1 = shapeOf({ kind: "teacher" });
const names = shapeOf({ kind: "names" });

describe("datasetShape", () => {
  it("reads widths, task and sample counts from each dataset kind", () => {
    expect(teacher16to1).toEqual({ inputs: 16, outputs: 1, task: "regression", samples: 4096, vocab: null });
    expect(shapeOf({ kind: "teacher", inputs: 8, outputs: 3, samples: 500 })).toEqual({ inputs: 8, outputs: 3, task: "regression", samples: 500, vocab: null });
    expect(shapeOf({ kind: "spirals", arms: 5, samples: 1000 })).toEqual({ inputs: 2, outputs: 5, task: "classification", samples: 1000, vocab: null });
    expect(shapeOf({ kind: "parity", bits: 12 })).toEqual({ inputs: 12, outputs: 2, task: "classification", samples: 4096, vocab: null });
    expect(shapeOf({ kind: "iris" })).toEqual({ inputs: 4, outputs: 3, task: "classification", samples: 150, vocab: null });
    expect(names).toEqual({ inputs: 27, outputs: 27, task: "language", samples: null, vocab: 27 });
  });

  it("sizes csv outputs by target count for regression and by classes for classification", () => {
    const base = { kind: "csv", path: "d.csv", features: ["a", "b", "c"] };
    expect(shapeOf({ ...base, target: "y" })).toEqual({ inputs: 3, outputs: 1, task: "regression", samples: null, vocab: null });
    expect(shapeOf({ ...base, target: ["y", "z"] }).outputs).toBe(2);
    expect(shapeOf({ ...base, target: "label", task: "classification" }).outputs).toBe(2);
    expect(shapeOf({ ...base, target: "label", task: "classification", classes: 7 })).toEqual({ inputs: 3, outputs: 7, task: "classification", samples: null, vocab: null });
  });

  it("uses a boundary token plus a–z for names", () => {
    expect(NAMES_ALPHABET).toBe(".abcdefghijklmnopqrstuvwxyz");
  });
});

describe("countParams", () => {
  it("counts a linear layer with and without bias", () => {
    expect(countParams(model({ family: "linear" }), teacher16to1)).toBe(16 * 1 + 1);
    expect(countParams(model({ family: "linear", bias: false }), teacher16to1)).toBe(16 * 1);
    expect(countParams(model({ family: "linear" }), shapeOf({ kind: "iris" }))).toBe(4 * 3 + 3);
  });

  it("counts an mlp 16->32->32->1", () => {
    const mlp = model({ family: "mlp", width: 32, depth: 2 });
    expect(countParams(mlp, teacher16to1)).toBe(16 * 32 + 32 + (32 * 32 + 32) + (32 * 1 + 1));
    expect(countParams(mlp, teacher16to1)).toBe(1633);
  });

  it("adds gamma and beta per hidden layer for layerNorm, nothing for dropout", () => {
    const plain = 16 * 32 + 32 + (32 * 32 + 32) + (32 * 1 + 1);
    expect(countParams(model({ family: "mlp", width: 32, depth: 2, layerNorm: true }), teacher16to1)).toBe(plain + 2 * (2 * 32));
    expect(countParams(model({ family: "mlp", width: 32, depth: 2, dropout: 0.5 }), teacher16to1)).toBe(plain);
    // depth 1 on spirals with 3 arms: 2->8 (+LN) ->3
    expect(countParams(model({ family: "mlp", width: 8, depth: 1, layerNorm: true }), shapeOf({ kind: "spirals" }))).toBe(2 * 8 + 8 + 2 * 8 + (8 * 3 + 3));
  });

  it("counts a char-mlp: embedding table, hidden layers over the context, vocab head", () => {
    const oneHidden = model({ family: "char-mlp", context: 3, embedding: 10, hidden: 64, depth: 1 });
    const table = 27 * 10;
    const first = 3 * 10 * 64 + 64;
    const head = 64 * 27 + 27;
    expect(countParams(oneHidden, names)).toBe(table + first + head);
    expect(countParams(oneHidden, names)).toBe(4009);
    const twoHidden = model({ family: "char-mlp", context: 3, embedding: 10, hidden: 64, depth: 2 });
    expect(countParams(twoHidden, names)).toBe(table + first + (64 * 64 + 64) + head);
  });

  it("counts a transformer with d=16, heads=2, layers=2, context=8, vocab 27 by hand", () => {
    const transformer = model({ family: "transformer", dModel: 16, heads: 2, layers: 2, context: 8 });
    const tokenEmbedding = 27 * 16; // 432
    const positionEmbedding = 8 * 16; // 128
    const ln1 = 16 + 16; // gamma, beta
    const q = 16 * 16 + 16;
    const k = 16 * 16 + 16;
    const v = 16 * 16 + 16;
    const o = 16 * 16 + 16;
    const ln2 = 16 + 16;
    const up = 16 * 64 + 64; // mlpRatio 4: 16 -> 64
    const down = 64 * 16 + 16;
    const block = ln1 + q + k + v + o + ln2 + up + down; // 3280
    const finalLn = 16 + 16;
    const head = 16 * 27 + 27; // 459
    const expected = tokenEmbedding + positionEmbedding + 2 * block + finalLn + head;
    expect(block).toBe(3280);
    expect(expected).toBe(7611);
    expect(countParams(transformer, names)).toBe(expected);
  });

  it("refuses heads that do not divide dModel, naming both fields", () => {
    const ragged = model({ family: "transformer", dModel: 16, heads: 3 });
    expect(() => countParams(ragged, names)).toThrowError(AppError);
    expect(() => countParams(ragged, names)).toThrowError(/model\.heads \(3\).*model\.dModel \(16\)/);
    expect(() => flopsPerStep(ragged, names, 4)).toThrowError(/model\.heads \(3\)/);
  });

  it("refuses token models on datasets without a vocabulary", () => {
    expect(() => countParams(model({ family: "char-mlp", hidden: 8 }), teacher16to1)).toThrowError(/char-mlp needs a language dataset/);
    expect(() => countParams(model({ family: "transformer", dModel: 8 }), teacher16to1)).toThrowError(/transformer needs a language dataset/);
  });
});

describe("flopsPerStep", () => {
  it("counts a linear layer: 2*B*in*out plus B*out bias adds", () => {
    const flops = flopsPerStep(model({ family: "linear" }), teacher16to1, 64);
    expect(flops.forward).toBe(2 * 64 * 16 * 1 + 64 * 1);
    expect(flops.total).toBe(3 * flops.forward);
  });

  it("counts an mlp 16->32->32->1 at batch 64", () => {
    const { forward, total } = flopsPerStep(model({ family: "mlp", width: 32, depth: 2, layerNorm: true }), teacher16to1, 64);
    const expected = 2 * 64 * 16 * 32 + 64 * 32 + (2 * 64 * 32 * 32 + 64 * 32) + (2 * 64 * 32 * 1 + 64 * 1); // 204864
    expectWithinOnePercent(forward, expected);
    expectWithinOnePercent(total, 3 * expected);
    expect(forward).toBe(204864);
  });

  it("counts a char-mlp at batch 32: one next character per sample", () => {
    const { forward } = flopsPerStep(model({ family: "char-mlp", context: 3, embedding: 10, hidden: 64, depth: 1 }), names, 32);
    const expected = 2 * 32 * 30 * 64 + 32 * 64 + (2 * 32 * 64 * 27 + 32 * 27); // 236384
    expectWithinOnePercent(forward, expected);
  });

  it("counts a transformer d=16 over batch 4 of 8-token sequences", () => {
    const transformer = model({ family: "transformer", dModel: 16, heads: 2, layers: 2, context: 8 });
    const tokens = 4 * 8;
    const projections = 4 * (2 * tokens * 16 * 16 + tokens * 16); // Q, K, V, O
    const attention = 4 * (2 * 8 * 8 * 16 + 2 * 8 * 8 * 16); // per sequence: QK^T and attention·V
    const mlp = 2 * tokens * 16 * 64 + tokens * 64 + (2 * tokens * 64 * 16 + tokens * 16);
    const head = 2 * tokens * 16 * 27 + tokens * 27;
    const expected = 2 * (projections + attention + mlp) + head; // 463712
    const { forward, total } = flopsPerStep(transformer, names, 4);
    expectWithinOnePercent(forward, expected);
    expectWithinOnePercent(total, 3 * expected);
    expect(forward).toBe(463712);
  });

  it("agrees with 6 * non-embedding params * tokens for a wide, short-context transformer", () => {
    const wide = model({ family: "transformer", dModel: 512, heads: 8, layers: 4, context: 16 });
    const nonEmbedding = countParams(wide, names) - 27 * 512 - 16 * 512;
    const { total } = flopsPerStep(wide, names, 8);
    expectWithinOnePercent(total, 6 * nonEmbedding * tokensOrSamplesPerStep(wide, 8));
  });

  it("reports tokens per step for transformers and samples per step otherwise", () => {
    expect(tokensOrSamplesPerStep(model({ family: "transformer", dModel: 16, context: 8 }), 4)).toBe(32);
    expect(tokensOrSamplesPerStep(model({ family: "char-mlp", hidden: 8, context: 8 }), 4)).toBe(4);
    expect(tokensOrSamplesPerStep(model({ family: "mlp", width: 8 }), 64)).toBe(64);
  });
});

describe("trainingSteps", () => {
  const iris = shapeOf({ kind: "iris" });
  const csv = shapeOf({ kind: "csv", path: "d.csv", features: ["a"], target: "y" });

  it("passes a step budget through, whatever the data", () => {
    expect(trainingSteps(training({ budget: { steps: 500 } }), teacher16to1, 0.2)).toBe(500);
    expect(trainingSteps(training({ budget: { steps: 500 } }), csv, 0.2)).toBe(500);
  });

  it("turns epochs into steps over the training split", () => {
    // 4096 * 0.8 = 3276.8 -> 3276 training samples; ceil(3276 / 64) = 52 steps per epoch
    expect(trainingSteps(training({ budget: { epochs: 3 } }), teacher16to1, 0.2)).toBe(3 * Math.ceil(3276 / 64));
    // iris: 150 * 0.8 = 120; ceil(120 / 32) = 4
    expect(trainingSteps(training({ batchSize: 32, budget: { epochs: 10 } }), iris, 0.2)).toBe(40);
    expect(trainingSteps(training({ batchSize: "full", budget: { epochs: 3 } }), teacher16to1, 0.2)).toBe(3);
    expect(trainingSteps(training({ budget: { epochs: 3 } }), csv, 0.2)).toBeNull();
    expect(trainingSteps(training({ budget: { epochs: 3 } }), names, 0.1)).toBeNull();
  });

  it("turns a sample budget into steps", () => {
    expect(trainingSteps(training({ budget: { samples: 10_000 } }), teacher16to1, 0.2)).toBe(Math.ceil(10_000 / 64));
    expect(trainingSteps(training({ budget: { samples: 10_000 } }), csv, 0.2)).toBe(157);
    expect(trainingSteps(training({ batchSize: "full", budget: { samples: 10_000 } }), iris, 0.2)).toBe(Math.ceil(10_000 / 120));
    expect(trainingSteps(training({ batchSize: "full", budget: { samples: 10_000 } }), csv, 0.2)).toBeNull();
  });

  it("cannot know the steps of a time budget", () => {
    expect(trainingSteps(training({ budget: { seconds: 60 } }), teacher16to1, 0.2)).toBeNull();
  });

  it("does not lose a training sample to float error in the split", () => {
    expect(10 * (1 - 0.9)).toBeLessThan(1);
    expect(trainSampleCount(10, 0.9)).toBe(1);
    expect(trainSampleCount(4096, 0.2)).toBe(3276);
  });
});

describe("sizeOfCell", () => {
  it("combines params, per-step flops and steps into total flops", () => {
    const size = sizeOfCell(cell({ training: { optimizer: { lr: 0.01 }, budget: { epochs: 3 } } }));
    const stepFlops = 3 * (2 * 64 * 16 * 32 + 64 * 32 + (2 * 64 * 32 * 32 + 64 * 32) + (2 * 64 * 32 + 64));
    expect(size).toEqual({ paramCount: 1633, flopsPerStep: stepFlops, steps: 156, totalFlops: stepFlops * 156 });
  });

  it("prices a full batch at the training split's size", () => {
    const size = sizeOfCell(cell({ model: { family: "linear" }, training: { optimizer: { kind: "gd", lr: 0.1 }, batchSize: "full", budget: { steps: 10 } } }));
    const stepFlops = 3 * (2 * 3276 * 16 + 3276);
    expect(size).toEqual({ paramCount: 17, flopsPerStep: stepFlops, steps: 10, totalFlops: 10 * stepFlops });
  });

  it("leaves flops unknown when a full batch's size is unknown", () => {
    const size = sizeOfCell(
      cell({
        dataset: { kind: "csv", path: "d.csv", features: ["a", "b"], target: "y" },
        training: { optimizer: { lr: 0.1 }, batchSize: "full", budget: { steps: 10 } },
      }),
    );
    expect(size).toEqual({ paramCount: 2 * 32 + 32 + (32 * 32 + 32) + (32 + 1), flopsPerStep: null, steps: 10, totalFlops: null });
  });

  it("leaves total flops unknown for a time budget", () => {
    const size = sizeOfCell(
      cell({ dataset: { kind: "names" }, model: { family: "transformer", dModel: 16, heads: 2, layers: 2, context: 8 }, training: { optimizer: { lr: 0.001 }, batchSize: 4, budget: { seconds: 30 } } }),
    );
    expect(size).toEqual({ paramCount: 7611, flopsPerStep: 3 * 463712, steps: null, totalFlops: null });
  });
});

// Keep the shape type exported for callers that build one by hand (e.g. from a read CSV).
const handBuilt: DatasetShape = { inputs: 5, outputs: 1, task: "regression", samples: 1000, vocab: null };
describe("a hand-built shape", () => {
  it("sizes like a parsed one", () => {
    expect(countParams(model({ family: "linear" }), handBuilt)).toBe(6);
    expect(trainingSteps(training({ budget: { epochs: 1 } }), handBuilt, 0.2)).toBe(Math.ceil(800 / 64));
  });
});
