import { beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../server/domain/app-error.ts";
import {
  flopsPerStep,
  sizeOfCell,
  tokensOrSamplesPerStep,
  trainingSteps,
  trainSampleCount,
} from "../../server/domain/model-size/count-flops.ts";
import { countParams } from "../../server/domain/model-size/count-params.ts";
import { datasetShape, NAMES_ALPHABET, type DatasetShape } from "../../server/domain/model-size/dataset-shape.ts";
import {
  ZDataset,
  ZModel,
  ZSpec,
  ZTraining,
  type CellConfig,
  type SpecInput,
} from "../../server/domain/spec/spec-schema.ts";
import { loadBackend, type LoadedBackend } from "../../worker/training/backend.ts";

// tfjs, for its own parameter counts of the same layers.
let cpu: LoadedBackend;
beforeAll(async () => {
  cpu = await loadBackend("cpu");
});

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
  return {
    dataset: spec.dataset,
    validation: spec.validation,
    model: spec.model,
    training: spec.training,
    runner: spec.runner,
  };
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
    expect(shapeOf({ kind: "teacher", inputs: 8, outputs: 3, samples: 500 })).toEqual({
      inputs: 8,
      outputs: 3,
      task: "regression",
      samples: 500,
      vocab: null,
    });
    expect(shapeOf({ kind: "spirals", arms: 5, samples: 1000 })).toEqual({
      inputs: 2,
      outputs: 5,
      task: "classification",
      samples: 1000,
      vocab: null,
    });
    expect(shapeOf({ kind: "parity", bits: 12 })).toEqual({
      inputs: 12,
      outputs: 2,
      task: "classification",
      samples: 4096,
      vocab: null,
    });
    expect(shapeOf({ kind: "iris" })).toEqual({
      inputs: 4,
      outputs: 3,
      task: "classification",
      samples: 150,
      vocab: null,
    });
    expect(names).toEqual({ inputs: 27, outputs: 27, task: "language", samples: null, vocab: 27 });
  });

  it("sizes csv outputs by target count for regression and by classes for classification", () => {
    const base = { kind: "csv", path: "d.csv", features: ["a", "b", "c"] };
    expect(shapeOf({ ...base, target: "y" })).toEqual({
      inputs: 3,
      outputs: 1,
      task: "regression",
      samples: null,
      vocab: null,
    });
    expect(shapeOf({ ...base, target: ["y", "z"] }).outputs).toBe(2);
    expect(shapeOf({ ...base, target: "label", task: "classification" }).outputs).toBe(2);
    expect(shapeOf({ ...base, target: "label", task: "classification", classes: 7 })).toEqual({
      inputs: 3,
      outputs: 7,
      task: "classification",
      samples: null,
      vocab: null,
    });
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
    expect(countParams(model({ family: "mlp", width: 32, depth: 2, layerNorm: true }), teacher16to1)).toBe(
      plain + 2 * (2 * 32),
    );
    expect(countParams(model({ family: "mlp", width: 32, depth: 2, dropout: 0.5 }), teacher16to1)).toBe(plain);
    // depth 1 on spirals with 3 arms: 2->8 (+LN) ->3
    expect(
      countParams(model({ family: "mlp", width: 8, depth: 1, layerNorm: true }), shapeOf({ kind: "spirals" })),
    ).toBe(2 * 8 + 8 + 2 * 8 + (8 * 3 + 3));
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

  it("matches tfjs layers' own countParams() for linear, mlp with LayerNorm and char-mlp", () => {
    const { tf } = cpu;
    const dense = (units: number, options: { inputShape?: number[]; useBias?: boolean } = {}) =>
      tf.layers.dense({ units, ...options });
    const tfjsLinear = (useBias: boolean) => tf.sequential({ layers: [dense(1, { inputShape: [16], useBias })] });
    expect(countParams(model({ family: "linear" }), teacher16to1)).toBe(tfjsLinear(true).countParams());
    expect(countParams(model({ family: "linear", bias: false }), teacher16to1)).toBe(tfjsLinear(false).countParams());
    const tfjsMlp = tf.sequential({
      layers: [
        dense(32, { inputShape: [16] }),
        tf.layers.layerNormalization(),
        dense(32),
        tf.layers.layerNormalization(),
        dense(1),
      ],
    });
    expect(countParams(model({ family: "mlp", width: 32, depth: 2, layerNorm: true }), teacher16to1)).toBe(
      tfjsMlp.countParams(),
    );
    const tfjsCharMlp = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 27, outputDim: 10, inputLength: 3 }),
        tf.layers.flatten(),
        dense(64),
        dense(64),
        dense(27),
      ],
    });
    expect(countParams(model({ family: "char-mlp", context: 3, embedding: 10, hidden: 64, depth: 2 }), names)).toBe(
      tfjsCharMlp.countParams(),
    );
  });

  it("refuses heads that do not divide dModel, naming both fields", () => {
    const ragged = model({ family: "transformer", dModel: 16, heads: 3 });
    expect(() => countParams(ragged, names)).toThrowError(AppError);
    expect(() => countParams(ragged, names)).toThrowError(/model\.heads \(3\).*model\.dModel \(16\)/);
    expect(() => flopsPerStep(ragged, names, 4)).toThrowError(/model\.heads \(3\)/);
  });

  it("refuses token models on datasets without a vocabulary", () => {
    expect(() => countParams(model({ family: "char-mlp", hidden: 8 }), teacher16to1)).toThrowError(
      /char-mlp needs a language dataset/,
    );
    expect(() => countParams(model({ family: "transformer", dModel: 8 }), teacher16to1)).toThrowError(
      /transformer needs a language dataset/,
    );
  });
});

/**
 * A naive forward pass that counts each scalar multiply and add it performs (activations are not
 * counted, as in the model): a count of a Dense stack's FLOPs by doing the arithmetic, not by formula.
 */
function countedDenseForward(rows: number[][], layers: { weights: number[][]; bias: number[] | null }[]): number {
  let flops = 0;
  for (const layer of layers) {
    rows = rows.map((row) =>
      layer.weights[0]!.map((_, output) => {
        let sum = 0;
        row.forEach((x, input) => {
          sum += x * layer.weights[input]![output]!;
          flops += 2; // one multiply, one add
        });
        if (layer.bias) {
          sum += layer.bias[output]!;
          flops += 1;
        }
        return Math.max(0, sum);
      }),
    );
  }
  return flops;
}

const filled = (rows: number, columns: number) =>
  Array.from({ length: rows }, (_, row) => Array.from({ length: columns }, (_, column) => (row + 1) / (column + 2)));
const denseLayer = (inputs: number, outputs: number, bias = true) => ({
  weights: filled(inputs, outputs),
  bias: bias ? filled(1, outputs)[0]! : null,
});

describe("flopsPerStep", () => {
  // Convention: a dot product of length k is k multiplies and k adds into the accumulator, a bias is one
  // more add per output; activations, softmax, LayerNorm and lookups count zero; backward = 2 x forward.
  const twoToThree: DatasetShape = { inputs: 2, outputs: 3, task: "regression", samples: 10, vocab: null };

  it("counts a 2-4-3 MLP by hand", () => {
    // hidden: 4 units, each 2 multiplies + 2 adds + 1 bias add = 5  -> 4 * 5 = 20
    // output: 3 units, each 4 multiplies + 4 adds + 1 bias add = 9  -> 3 * 9 = 27
    // one sample: 20 + 27 = 47; a batch of 2: 94; a training step: 94 forward + 188 backward = 282
    const mlp = model({ family: "mlp", width: 4, depth: 1 });
    expect(flopsPerStep(mlp, twoToThree, 1).forward).toBe(47);
    expect(flopsPerStep(mlp, twoToThree, 2)).toEqual({ forward: 94, total: 282 });
    // LayerNorm and dropout are elementwise: no change.
    expect(
      flopsPerStep(model({ family: "mlp", width: 4, depth: 1, layerNorm: true, dropout: 0.5 }), twoToThree, 2).forward,
    ).toBe(94);
  });

  it("counts a linear layer by hand, with and without bias", () => {
    // 3 outputs, each 2 multiplies + 2 adds (+ 1 bias add): 3 * 5 = 15 with bias, 3 * 4 = 12 without
    expect(flopsPerStep(model({ family: "linear" }), twoToThree, 1).forward).toBe(15);
    expect(flopsPerStep(model({ family: "linear", bias: false }), twoToThree, 1).forward).toBe(12);
  });

  it("agrees with a forward pass that counts its own multiplies and adds", () => {
    const batch = filled(5, 16);
    const mlp = model({ family: "mlp", width: 7, depth: 3 });
    const counted = countedDenseForward(batch, [
      denseLayer(16, 7),
      denseLayer(7, 7),
      denseLayer(7, 7),
      denseLayer(7, 1),
    ]);
    expect(flopsPerStep(mlp, teacher16to1, 5).forward).toBe(counted);
    expect(flopsPerStep(model({ family: "linear", bias: false }), teacher16to1, 5).forward).toBe(
      countedDenseForward(batch, [denseLayer(16, 1, false)]),
    );
  });

  it("counts 2 FLOPs per weight and 1 per bias per sample for an mlp, with tfjs counting the weights", () => {
    const { tf } = cpu;
    const layers = [
      tf.layers.dense({ inputShape: [16], units: 32 }),
      tf.layers.dense({ units: 32 }),
      tf.layers.dense({ units: 1 }),
    ];
    tf.sequential({ layers });
    const weights = layers.reduce((sum, layer) => sum + layer.getWeights()[0]!.size, 0);
    const biases = layers.reduce((sum, layer) => sum + layer.getWeights()[1]!.size, 0);
    expect(flopsPerStep(model({ family: "mlp", width: 32, depth: 2 }), teacher16to1, 64).forward).toBe(
      64 * (2 * weights + biases),
    );
  });

  it("counts a char-mlp by hand: lookups are free, one next character per sample", () => {
    // context 2 x embedding 3 = 6 inputs, looked up (0 FLOPs)
    // hidden: 4 units, each 6 multiplies + 6 adds + 1 bias add = 13  -> 4 * 13 = 52
    // head:   27 units (the names alphabet), each 4 multiplies + 4 adds + 1 = 9  -> 27 * 9 = 243
    // one sample: 52 + 243 = 295
    const charMlp = model({ family: "char-mlp", context: 2, embedding: 3, hidden: 4, depth: 1 });
    expect(flopsPerStep(charMlp, names, 1).forward).toBe(295);
    expect(flopsPerStep(charMlp, names, 3).forward).toBe(3 * 295);
  });

  it("counts a transformer with dModel 2 over one 2-token sequence by hand", () => {
    const tiny = { family: "transformer", dModel: 2, heads: 1, layers: 1, context: 2 } as const;
    // 2 tokens, each:
    //   Q, K, V, O: 2 outputs, each 2 multiplies + 2 adds + 1 bias add = 5 -> 10 each, 40 for the four
    //   mlp up 2 -> 8 (mlpRatio 4): 8 * 5 = 40; down 8 -> 2: 2 * (8 + 8 + 1) = 34
    //   per token 40 + 40 + 34 = 114; 2 tokens: 228
    // attention over the sequence: scores QK^T are 2 x 2, each a length-2 dot product (4) = 16;
    //   weights . V is 2 x 2 outputs, each a sum over 2 positions (4) = 16; the causal mask still costs
    // block: 228 + 16 + 16 = 260
    // head 2 -> 27: 27 * 5 = 135 per token, 270 for 2
    // forward: 260 + 270 = 530
    expect(flopsPerStep(model(tiny), names, 1)).toEqual({ forward: 530, total: 3 * 530 });
    // Everything is per sequence: 3 sequences cost 3 times as much; a second layer adds one block.
    expect(flopsPerStep(model(tiny), names, 3).forward).toBe(3 * 530);
    expect(flopsPerStep(model({ ...tiny, layers: 2 }), names, 1).forward).toBe(260 + 260 + 270);
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
    expect(trainingSteps(training({ batchSize: "full", budget: { samples: 10_000 } }), iris, 0.2)).toBe(
      Math.ceil(10_000 / 120),
    );
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
    // The 2-4-3 MLP above: params 2*4 + 4 + 4*3 + 3 = 27; a step of batch 2 is 282 FLOPs.
    // 10 samples, 20% held out: 8 to train on, 4 steps of 2 per epoch.
    const size = sizeOfCell(
      cell({
        dataset: { kind: "teacher", inputs: 2, outputs: 3, samples: 10 },
        model: { family: "mlp", width: 4, depth: 1 },
        training: { optimizer: { lr: 0.01 }, batchSize: 2, budget: { epochs: 1 } },
      }),
    );
    expect(size).toEqual({ paramCount: 27, flopsPerStep: 282, steps: 4, totalFlops: 4 * 282 });
  });

  it("prices a full batch at the training split's size", () => {
    // 8 training rows through a 2 -> 1 linear layer: 8 * (2 + 2 + 1) = 40 forward, 120 a step
    const size = sizeOfCell(
      cell({
        dataset: { kind: "teacher", inputs: 2, outputs: 1, samples: 10 },
        model: { family: "linear" },
        training: { optimizer: { kind: "gd", lr: 0.1 }, batchSize: "full", budget: { steps: 10 } },
      }),
    );
    expect(size).toEqual({ paramCount: 3, flopsPerStep: 120, steps: 10, totalFlops: 1200 });
  });

  it("leaves flops unknown when a full batch's size is unknown", () => {
    const size = sizeOfCell(
      cell({
        dataset: { kind: "csv", path: "d.csv", features: ["a", "b"], target: "y" },
        training: { optimizer: { lr: 0.1 }, batchSize: "full", budget: { steps: 10 } },
      }),
    );
    expect(size).toEqual({
      paramCount: 2 * 32 + 32 + (32 * 32 + 32) + (32 + 1),
      flopsPerStep: null,
      steps: 10,
      totalFlops: null,
    });
  });

  it("leaves total flops unknown for a time budget", () => {
    // The dModel-2 transformer above: 530 FLOPs forward per sequence. Params: embeddings 27*2 + 2*2 = 58;
    // block: 2 LayerNorms 2*(2+2) = 8, Q K V O 4*(2*2+2) = 24, mlp (2*8+8) + (8*2+2) = 42 -> 74;
    // final LayerNorm 4; head 2*27 + 27 = 81. 58 + 74 + 4 + 81 = 217.
    const size = sizeOfCell(
      cell({
        dataset: { kind: "names" },
        model: { family: "transformer", dModel: 2, heads: 1, layers: 1, context: 2 },
        training: { optimizer: { lr: 0.001 }, batchSize: 1, budget: { seconds: 30 } },
      }),
    );
    expect(size).toEqual({ paramCount: 217, flopsPerStep: 3 * 530, steps: null, totalFlops: null });
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
