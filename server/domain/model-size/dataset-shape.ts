import type { Dataset } from "../spec/spec-schema.ts";

export type DatasetTask = "regression" | "classification" | "language";

/** What a model needs to know about a dataset to be sized: widths at both ends and how much data there is. */
export type DatasetShape = {
  inputs: number;
  outputs: number;
  task: DatasetTask;
  /** Examples before the validation split; null when it cannot be known without reading data (csv, names). */
  samples: number | null;
  /** Token vocabulary of a language dataset; null for the others. */
  vocab: number | null;
};

/**
 * The names corpus's tokens: '.' marks both ends of a name (index 0), then a–z. Names are
 * lowercased and any other character is dropped, so the vocabulary is always these 27.
 */
export const NAMES_ALPHABET = ".abcdefghijklmnopqrstuvwxyz";
export const NAMES_VOCAB = NAMES_ALPHABET.length;

const IRIS_FEATURES = 4;
const IRIS_CLASSES = 3;
const IRIS_SAMPLES = 150;
const CSV_DEFAULT_CLASSES = 2;

/** Reads a dataset's shape from its spec alone, without generating or loading any data. */
export function datasetShape(dataset: Dataset): DatasetShape {
  switch (dataset.kind) {
    case "teacher":
      return {
        inputs: dataset.inputs,
        outputs: dataset.outputs,
        task: "regression",
        samples: dataset.samples,
        vocab: null,
      };
    case "spirals":
      return { inputs: 2, outputs: dataset.arms, task: "classification", samples: dataset.samples, vocab: null };
    case "parity":
      return { inputs: dataset.bits, outputs: 2, task: "classification", samples: dataset.samples, vocab: null };
    case "csv": {
      const outputs =
        dataset.task === "classification"
          ? (dataset.classes ?? CSV_DEFAULT_CLASSES)
          : typeof dataset.target === "string"
            ? 1
            : dataset.target.length;
      return { inputs: dataset.features.length, outputs, task: dataset.task, samples: null, vocab: null };
    }
    case "iris":
      return {
        inputs: IRIS_FEATURES,
        outputs: IRIS_CLASSES,
        task: "classification",
        samples: IRIS_SAMPLES,
        vocab: null,
      };
    case "names":
      return { inputs: NAMES_VOCAB, outputs: NAMES_VOCAB, task: "language", samples: null, vocab: NAMES_VOCAB };
    default: {
      const unknown: never = dataset;
      throw new Error(`unknown dataset kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
    }
  }
}
