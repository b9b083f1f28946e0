import { AppError } from "../app-error.ts";
import type { Model } from "../spec/spec-schema.ts";
import type { DatasetShape } from "./dataset-shape.ts";

type CharMlpModel = Extract<Model, { family: "char-mlp" }>;
type TransformerModel = Extract<Model, { family: "transformer" }>;

/**
 * Exact trainable parameter counts, as a plain tfjs build of each family would report them
 * (`model.countParams()`), computed from the spec alone so the planner can size a sweep
 * before anything trains.
 */
export function countParams(model: Model, shape: DatasetShape): number {
  switch (model.family) {
    case "linear":
      // One Dense layer: inputs*outputs weights, plus outputs biases when bias is on.
      return shape.inputs * shape.outputs + (model.bias ? shape.outputs : 0);
    case "mlp": {
      const { depth, width } = model;
      // First hidden Dense inputs->width with bias.
      const firstHidden = shape.inputs * width + width;
      // Each further hidden Dense width->width with bias.
      const laterHidden = (depth - 1) * (width * width + width);
      // LayerNorm after each hidden layer: gamma and beta, width each. Dropout has no weights.
      const layerNorms = model.layerNorm ? depth * 2 * width : 0;
      // Output Dense width->outputs with bias.
      const head = width * shape.outputs + shape.outputs;
      return firstHidden + laterHidden + layerNorms + head;
    }
    case "char-mlp":
      return charMlpParams(model, languageVocab(model, shape));
    case "transformer":
      return transformerParams(model, languageVocab(model, shape));
    default: {
      const unknown: never = model;
      throw new Error(`unknown model family ${JSON.stringify((unknown as { family?: unknown }).family)}`);
    }
  }
}

function charMlpParams(model: CharMlpModel, vocab: number): number {
  const { context, embedding, hidden, depth } = model;
  // Embedding table: one row of `embedding` per token.
  const table = vocab * embedding;
  // First hidden Dense over the concatenated context embeddings, with bias.
  const firstHidden = context * embedding * hidden + hidden;
  // Each further hidden Dense hidden->hidden with bias.
  const laterHidden = (depth - 1) * (hidden * hidden + hidden);
  // Output Dense hidden->vocab with bias (logits over the next character).
  const head = hidden * vocab + vocab;
  return table + firstHidden + laterHidden + head;
}

function transformerParams(model: TransformerModel, vocab: number): number {
  assertHeadsDivideDModel(model);
  const d = model.dModel;
  const r = model.mlpRatio;
  // Token embedding vocab*d plus learned positional embedding context*d.
  const embeddings = vocab * d + model.context * d;
  // Pre-attention LayerNorm: gamma and beta.
  const ln1 = 2 * d;
  // Q, K, V and output projections, each d*d weights + d biases.
  const attention = 4 * d * d + 4 * d;
  // Pre-MLP LayerNorm: gamma and beta.
  const ln2 = 2 * d;
  // Feed-forward d->r*d->d with biases: 2*r*d^2 weights + r*d + d biases.
  const mlp = 2 * r * d * d + r * d + d;
  // Final LayerNorm before the head.
  const finalLn = 2 * d;
  // Untied output head d->vocab with bias.
  const head = d * vocab + vocab;
  return embeddings + model.layers * (ln1 + attention + ln2 + mlp) + finalLn + head;
}

/** Attention splits dModel evenly across heads; a remainder would leave a head with a ragged width. */
export function assertHeadsDivideDModel(model: TransformerModel): void {
  if (model.dModel % model.heads !== 0) {
    throw new AppError(
      "INVALID_INPUT",
      `model.heads (${model.heads}) must divide model.dModel (${model.dModel}) evenly: each head gets dModel / heads dimensions`,
    );
  }
}

/** Token models need a token vocabulary, which only language datasets have. */
export function languageVocab(model: CharMlpModel | TransformerModel, shape: DatasetShape): number {
  if (shape.task !== "language" || shape.vocab === null) {
    throw new AppError(
      "INVALID_INPUT",
      `model.family ${model.family} needs a language dataset (names), not a ${shape.task} one`,
    );
  }
  return shape.vocab;
}
