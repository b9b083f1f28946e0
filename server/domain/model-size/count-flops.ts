import type { CellConfig, Model, Training } from "../spec/spec-schema.ts";
import { assertHeadsDivideDModel, countParams, languageVocab } from "./count-params.ts";
import { datasetShape, type DatasetShape } from "./dataset-shape.ts";

/**
 * Analytic training cost. Forward FLOPs count each matmul as 2*m*n*k (a multiply and an add)
 * and each bias as one add per output; activations, softmax, LayerNorm, residual and
 * positional adds are elementwise and left out, since at any useful width the matmuls dwarf
 * them. Embedding lookups are gathers, not arithmetic, and count zero. Backward costs about
 * twice forward, so a training step is 3 * forward.
 */
export type StepFlops = { forward: number; total: number };

const BACKWARD_TO_FORWARD = 2;

/** Rows one step pushes through the model: sequences of `context` tokens for the transformer, samples otherwise. */
export function tokensOrSamplesPerStep(model: Model, batchSize: number): number {
  return model.family === "transformer" ? batchSize * model.context : batchSize;
}

export function flopsPerStep(model: Model, shape: DatasetShape, batchSize: number): StepFlops {
  const forward = forwardFlops(model, shape, batchSize);
  return { forward, total: (1 + BACKWARD_TO_FORWARD) * forward };
}

/** A Dense layer over `rows` rows: the matmul plus one bias add per output. */
function denseFlops(rows: number, inputs: number, outputs: number, bias = true): number {
  return 2 * rows * inputs * outputs + (bias ? rows * outputs : 0);
}

function forwardFlops(model: Model, shape: DatasetShape, batchSize: number): number {
  const rows = tokensOrSamplesPerStep(model, batchSize);
  switch (model.family) {
    case "linear":
      return denseFlops(rows, shape.inputs, shape.outputs, model.bias);
    case "mlp":
      return (
        denseFlops(rows, shape.inputs, model.width) +
        (model.depth - 1) * denseFlops(rows, model.width, model.width) +
        denseFlops(rows, model.width, shape.outputs)
      );
    case "char-mlp": {
      const vocab = languageVocab(model, shape);
      return (
        denseFlops(rows, model.context * model.embedding, model.hidden) +
        (model.depth - 1) * denseFlops(rows, model.hidden, model.hidden) +
        denseFlops(rows, model.hidden, vocab)
      );
    }
    case "transformer": {
      assertHeadsDivideDModel(model);
      const vocab = languageVocab(model, shape);
      const d = model.dModel;
      const T = model.context;
      const hidden = model.mlpRatio * d;
      const projections = 4 * denseFlops(rows, d, d);
      // Per sequence, QK^T and attention·V are each 2*T*T*d summed over heads; the causal mask
      // is applied to a full T*T score matrix, so the masked half still costs.
      const attention = batchSize * (2 * T * T * d + 2 * T * T * d);
      const mlp = denseFlops(rows, d, hidden) + denseFlops(rows, hidden, d);
      return model.layers * (projections + attention + mlp) + denseFlops(rows, d, vocab);
    }
    default: {
      const unknown: never = model;
      throw new Error(`unknown model family ${JSON.stringify((unknown as { family?: unknown }).family)}`);
    }
  }
}

/**
 * Examples left for training after the validation split. The small epsilon keeps float error
 * in samples*(1-fraction) (e.g. 10*(1-0.9) = 0.9999999999999998) from losing a whole example.
 */
export function trainSampleCount(samples: number, validationFraction: number): number {
  return Math.floor(samples * (1 - validationFraction) + 1e-9);
}

/** Samples per step, with "full" resolved to the training split; null when that split's size is unknown. */
export function batchSamples(training: Training, shape: DatasetShape, validationFraction: number): number | null {
  if (training.batchSize !== "full") return training.batchSize;
  return shape.samples === null ? null : trainSampleCount(shape.samples, validationFraction);
}

/** Optimizer steps the budget allows; null for a time budget, or when it depends on a sample count not known yet. */
export function trainingSteps(training: Training, shape: DatasetShape, validationFraction: number): number | null {
  const { budget } = training;
  if (budget.steps !== undefined) return budget.steps;
  if (budget.seconds !== undefined) return null;
  const batch = batchSamples(training, shape, validationFraction);
  if (budget.samples !== undefined) {
    if (batch === null) return null;
    return batch === 0 ? 0 : Math.ceil(budget.samples / batch);
  }
  if (budget.epochs !== undefined) {
    if (shape.samples === null || batch === null) return null;
    const trainSamples = trainSampleCount(shape.samples, validationFraction);
    return trainSamples === 0 ? 0 : budget.epochs * Math.ceil(trainSamples / batch);
  }
  return null;
}

/** How big and how costly one cell is: what the planner shows before a sweep is queued. */
export type CellSize = {
  paramCount: number;
  /** Training FLOPs (forward + backward) per step; null when a "full" batch's size is unknown. */
  flopsPerStep: number | null;
  steps: number | null;
  totalFlops: number | null;
};

export function sizeOfCell(config: CellConfig): CellSize {
  const shape = datasetShape(config.dataset);
  const validationFraction = config.validation.fraction;
  const paramCount = countParams(config.model, shape);
  const batch = batchSamples(config.training, shape, validationFraction);
  const stepFlops = batch === null ? null : flopsPerStep(config.model, shape, batch).total;
  const steps = trainingSteps(config.training, shape, validationFraction);
  const totalFlops = stepFlops === null || steps === null ? null : stepFlops * steps;
  return { paramCount, flopsPerStep: stepFlops, steps, totalFlops };
}
