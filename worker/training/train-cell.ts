import os from "node:os";
import { flopsPerStep, trainingSteps } from "../../server/domain/model-size/count-flops.ts";
import { assertHeadsDivideDModel, countParams } from "../../server/domain/model-size/count-params.ts";
import { datasetShape } from "../../server/domain/model-size/dataset-shape.ts";
import type { CellConfig } from "../../server/domain/spec/spec-schema.ts";
import { loadBackend, type BackendPreference, type LoadedBackend, type Tf } from "./backend.ts";
import { prepareData, type PreparedData } from "./datasets.ts";
import { buildModel, type TrainableModel } from "./models.ts";
import { createOptimizer, learningRateAt } from "./optimizer.ts";
import { Random } from "./random.ts";

type Tensor = ReturnType<Tf["tensor"]>;

export type MetricPointOut = { key: string; step: number; value: number; wallTime: number };

/**
 * Cumulative seconds inside optimizer steps, logged with every train/loss point: "training time"
 * as an x axis, without evaluation, logging and start-up (which "wallclock" includes).
 */
export const TRAIN_SECONDS_KEY = "time/train_seconds";

/**
 * Where a run's time went, summed over its attempts. Train: inside optimizer steps (forward,
 * backward, update, reading the loss back). Eval: evaluating the validation split. Overhead:
 * the rest of the trainer's time, set-up (data, model) of every attempt included: batch gathering,
 * logging, checkpoints. Steady-state: training seconds and steps after each attempt's warm-up steps.
 */
export type TrainerClock = {
  trainSeconds: number;
  evalSeconds: number;
  overheadSeconds: number;
  steadySteps: number;
  steadySeconds: number;
};

/** Everything needed to continue a run where it stopped. Batch order is a function of (seed, step), so no RNG state is needed. */
export type TrainerState = {
  step: number;
  elapsedSeconds: number;
  /** Absent in checkpoints written before clean time was recorded: their earlier attempts count as overhead. */
  clock?: TrainerClock;
  variables: { name: string; shape: number[]; values: Float32Array }[];
  optimizer: { name: string; shape: number[]; values: Float32Array }[];
  bestValLoss: number | null;
};

export type TrainHooks = {
  onPoints?: (points: MetricPointOut[]) => void;
  onProgress?: (progress: {
    step: number;
    totalSteps: number | null;
    fraction: number;
    elapsedSeconds: number;
  }) => void;
  /** Checked every step: true stops training (cancel, shutdown) after a checkpoint. */
  shouldStop?: () => boolean;
  checkpointEvery?: { steps?: number; seconds?: number };
  onCheckpoint?: (state: TrainerState) => void | Promise<void>;
  resumeFrom?: TrainerState | null;
};

export type TrainSummary = {
  paramCount: number;
  paramCountExpected: number;
  flopsPerStep: number;
  totalFlops: number;
  steps: number;
  /** D: samples trained on (steps x batch), and tokens predicted for language models (null otherwise). */
  samples: number;
  tokens: number | null;
  wallClockSeconds: number;
  trainSeconds: number;
  evalSeconds: number;
  overheadSeconds: number;
  /** Training samples a second over the steady-state steps (null before any step). */
  samplesPerSecond: number | null;
  /** Steps the throughput is measured over: those after each attempt's first WARMUP_STEPS, or every step when none are. */
  steadyStateSteps: number;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  bestValLoss: number | null;
  finalValAccuracy: number | null;
  backend: string;
  tfjsVersion: string;
  host: string;
  seed: number;
};

export type TrainResult =
  | { status: "succeeded"; summary: TrainSummary }
  | { status: "diverged"; summary: TrainSummary; step: number; error: string }
  | { status: "stopped"; summary: TrainSummary; step: number };

/** How often a training with a shouldStop hook lets its process handle messages (cancel, shutdown). */
const YIELD_MS = 20;
/**
 * Steps of each attempt left out of the steady-state throughput: the first steps compile kernels
 * and grow the backend's buffers (on cpu and wasm the first 3-5 steps take several times as long).
 */
export const WARMUP_STEPS = 10;

function lossOf(tf: Tf, data: PreparedData, output: Tensor, target: Tensor): Tensor {
  if (data.task === "regression") return tf.losses.meanSquaredError(target, output);
  const classes = data.classes!;
  const logits = tf.reshape(output, [-1, classes]);
  const labels = tf.oneHot(tf.reshape(target, [-1]), classes);
  return tf.losses.softmaxCrossEntropy(labels, logits);
}

function accuracyOf(tf: Tf, data: PreparedData, output: Tensor, target: Tensor): Tensor | null {
  if (data.task === "regression") return null;
  const predicted = tf.argMax(tf.reshape(output, [-1, data.classes!]), 1);
  return tf.mean(tf.cast(tf.equal(predicted, tf.cast(tf.reshape(target, [-1]), "int32")), "float32"));
}

/** Mean loss (and accuracy) over a split, in chunks so large validation sets fit in memory. */
function evaluate(
  tf: Tf,
  model: TrainableModel,
  data: PreparedData,
  x: Tensor,
  y: Tensor,
  count: number,
  step: number,
) {
  let lossSum = 0;
  let accuracySum = 0;
  const chunk = 1024;
  for (let start = 0; start < count; start += chunk) {
    const size = Math.min(chunk, count - start);
    const [loss, accuracy] = tf.tidy(() => {
      const xs = tf.slice(x, [start], [size]);
      const ys = tf.slice(y, [start], [size]);
      const output = model.forward(xs, false, step);
      return [lossOf(tf, data, output, ys), accuracyOf(tf, data, output, ys) ?? tf.scalar(0)];
    }) as Tensor[];
    lossSum += loss!.dataSync()[0]! * size;
    accuracySum += accuracy!.dataSync()[0]! * size;
    loss!.dispose();
    accuracy!.dispose();
  }
  return { loss: lossSum / count, accuracy: data.task === "regression" ? null : accuracySum / count };
}

/** Batch indices for a step: epochs are reshuffled from (seed, epoch), so any step can be recomputed on resume. */
function batchSampler(seed: number, batch: number, trainCount: number): (step: number) => Int32Array {
  const perEpoch = Math.floor(trainCount / batch);
  let cached: { epoch: number; order: Int32Array } | null = null;
  return (step) => {
    const epoch = Math.floor(step / perEpoch);
    if (cached?.epoch !== epoch)
      cached = { epoch, order: new Random(seed * 1_000_033 + epoch).permutation(trainCount) };
    const offset = (step % perEpoch) * batch;
    return cached.order.subarray(offset, offset + batch);
  };
}

type BatchSource = { at: (step: number) => { xs: Tensor; ys: Tensor }; dispose: () => void };

const tensorOf = (tf: Tf, values: Float32Array | Int32Array, shape: number[]) =>
  tf.tensor(values, shape, values instanceof Int32Array ? "int32" : "float32");

/**
 * Gathers a batch in JS: one array holds the training rows and, after them, a batch area that
 * copyWithin fills row by row without allocating (a per-step tf.gather cost about a fifth of a
 * small MLP's step on wasm; set(subarray(...)) per row took 2-3 times as long as copyWithin).
 * The area is reused: the step's tidy disposes the tensor made from it before the next step
 * refills it (the cpu backend keeps the array it is given rather than a copy).
 */
function rowGatherer(
  tf: Tf,
  values: Float32Array | Int32Array,
  rows: number,
  batch: number,
  shape: number[],
): (indices: Int32Array) => Tensor {
  const row = shape.slice(1).reduce((size, dimension) => size * dimension, 1);
  const area = rows * row;
  const store =
    values instanceof Int32Array ? new Int32Array(area + batch * row) : new Float32Array(area + batch * row);
  store.set(values.subarray(0, area));
  const batchArea = store.subarray(area);
  return (indices) => {
    for (let at = 0; at < batch; at++) {
      const source = indices[at]! * row;
      store.copyWithin(area + at * row, source, source + row);
    }
    return tensorOf(tf, batchArea, shape);
  };
}

/** The inputs and targets of each step: the whole training split (uploaded once) or the step's mini-batch. */
function batchSource(tf: Tf, data: PreparedData, batch: number, seed: number): BatchSource {
  const xShape = [batch, ...data.xShape];
  const yShape = [batch, ...data.yShape];
  if (batch >= data.trainCount) {
    const xs = tensorOf(tf, data.xTrain, xShape);
    const ys = tensorOf(tf, data.yTrain, yShape);
    return {
      at: () => ({ xs, ys }),
      dispose: () => {
        xs.dispose();
        ys.dispose();
      },
    };
  }
  const sample = batchSampler(seed, batch, data.trainCount);
  const gatherX = rowGatherer(tf, data.xTrain, data.trainCount, batch, xShape);
  const gatherY = rowGatherer(tf, data.yTrain, data.trainCount, batch, yShape);
  return {
    at: (step) => {
      const indices = sample(step);
      return { xs: gatherX(indices), ys: gatherY(indices) };
    },
    dispose: () => undefined,
  };
}

/**
 * Trains one cell with a tfjs backend and reports honest metrics: train loss every logEvery
 * steps, validation loss/accuracy every evalEvery steps and at the end, learning rate, gradient
 * norm, throughput, wall-clock time, cumulative FLOPs and samples (or tokens) seen.
 */
export async function trainCell(
  config: CellConfig,
  options: { backend?: BackendPreference; loaded?: LoadedBackend; hooks?: TrainHooks } = {},
): Promise<TrainResult> {
  const setupStarted = performance.now();
  const hooks = options.hooks ?? {};
  const loaded = options.loaded ?? (await loadBackend(options.backend ?? "auto"));
  const { tf } = loaded;
  const { training, model: modelSpec } = config;
  if (modelSpec.family === "transformer") assertHeadsDivideDModel(modelSpec);

  const data = prepareData(config);
  const shape = { ...datasetShape(config.dataset), samples: data.trainCount + data.valCount };
  const batch = training.batchSize === "full" ? data.trainCount : Math.min(training.batchSize, data.trainCount);
  const totalSteps =
    training.budget.seconds !== undefined
      ? null
      : trainingSteps(
          { ...training, batchSize: training.batchSize === "full" ? "full" : batch },
          shape,
          config.validation.fraction,
        );
  const stepFlops = flopsPerStep(modelSpec, shape, batch).total;
  const expectedParams = countParams(modelSpec, shape);

  const model = buildModel(tf, modelSpec, data, training.seed);
  const { optimizer, setLearningRate, weightDecay } = createOptimizer(tf, training);
  const validation = data.valCount
    ? {
        xs: tensorOf(tf, data.xVal, [data.valCount, ...data.xShape]),
        ys: tensorOf(tf, data.yVal, [data.valCount, ...data.yShape]),
      }
    : null;
  const batches = batchSource(tf, data, batch, training.seed);
  const tokensPerStep = data.task === "language" ? batch * data.tokensPerExample : null;

  let step = 0;
  let elapsedBefore = 0;
  let bestValLoss: number | null = null;
  let clockBefore: TrainerClock = {
    trainSeconds: 0,
    evalSeconds: 0,
    overheadSeconds: 0,
    steadySteps: 0,
    steadySeconds: 0,
  };
  if (hooks.resumeFrom) {
    const state = hooks.resumeFrom;
    state.variables.forEach((saved, index) => {
      const value = tf.tensor(saved.values, saved.shape);
      model.variables[index]!.assign(value);
      value.dispose();
    });
    if (state.optimizer.length) {
      // Optimizer slots are named after their variable; the saved names belong to the old model instance.
      const renamed = new Map(state.variables.map((saved, index) => [saved.name, model.variables[index]!.name]));
      const rename = (name: string) => {
        for (const [from, to] of renamed)
          if (name.startsWith(`${from}/`) || name === from) return to + name.slice(from.length);
        return name;
      };
      const weights = state.optimizer.map((saved) => ({
        name: rename(saved.name),
        tensor: tf.tensor(saved.values, saved.shape),
      }));
      await optimizer.setWeights(weights);
      // The optimizer made its own variables from these (a worker's training process trains run after run).
      for (const weight of weights) weight.tensor.dispose();
    }
    step = state.step;
    elapsedBefore = state.elapsedSeconds;
    bestValLoss = state.bestValLoss;
    clockBefore = state.clock ?? { ...clockBefore, overheadSeconds: state.elapsedSeconds };
  }

  const started = performance.now();
  const setupSeconds = (started - setupStarted) / 1000;
  const elapsed = () => elapsedBefore + (performance.now() - started) / 1000;
  // This attempt's clean time, in milliseconds; the clock adds the earlier attempts'.
  const attempt = { trainMs: 0, evalMs: 0, steps: 0, steadySteps: 0, steadyMs: 0 };
  const clock = (): TrainerClock => {
    const trainSeconds = clockBefore.trainSeconds + attempt.trainMs / 1000;
    const evalSeconds = clockBefore.evalSeconds + attempt.evalMs / 1000;
    const loopSeconds = (performance.now() - started) / 1000;
    return {
      trainSeconds,
      evalSeconds,
      overheadSeconds:
        clockBefore.overheadSeconds +
        setupSeconds +
        Math.max(0, loopSeconds - (attempt.trainMs + attempt.evalMs) / 1000),
      steadySteps: clockBefore.steadySteps + attempt.steadySteps,
      steadySeconds: clockBefore.steadySeconds + attempt.steadyMs / 1000,
    };
  };
  const throughput = (time: TrainerClock): { samplesPerSecond: number | null; steadyStateSteps: number } => {
    if (time.steadySteps > 0 && time.steadySeconds > 0)
      return { samplesPerSecond: (time.steadySteps * batch) / time.steadySeconds, steadyStateSteps: time.steadySteps };
    // Too short a run for a steady state: every step, warm-up included, says so by steadyStateSteps = steps.
    return {
      samplesPerSecond: step > 0 && time.trainSeconds > 0 ? (step * batch) / time.trainSeconds : null,
      steadyStateSteps: step,
    };
  };
  const now = () => Date.now() / 1000;
  let lastLog = { time: performance.now(), step };
  let lastCheckpoint = { time: performance.now(), step };
  let lastYield = performance.now();
  let finalTrainLoss: number | null = null;
  let finalVal: { loss: number; accuracy: number | null } | null = null;

  const snapshot = async (): Promise<TrainerState> => ({
    step,
    elapsedSeconds: elapsed(),
    clock: clock(),
    bestValLoss,
    variables: model.variables.map((variable) => ({
      name: variable.name,
      shape: variable.shape,
      values: variable.dataSync() as Float32Array,
    })),
    optimizer: await Promise.all(
      (await optimizer.getWeights()).map(async (weight) => {
        const values = (await weight.tensor.data()) as Float32Array;
        // Slots are the optimizer's own variables; the step count comes as a new scalar, freed here.
        if (!(weight.tensor instanceof tf.Variable)) weight.tensor.dispose();
        return { name: weight.name, shape: weight.tensor.shape, values };
      }),
    ),
  });

  const summary = (): TrainSummary => {
    const time = clock();
    return {
      paramCount: model.paramCount,
      paramCountExpected: expectedParams,
      flopsPerStep: stepFlops,
      totalFlops: stepFlops * step,
      steps: step,
      samples: step * batch,
      tokens: tokensPerStep === null ? null : step * tokensPerStep,
      wallClockSeconds: elapsed(),
      trainSeconds: time.trainSeconds,
      evalSeconds: time.evalSeconds,
      overheadSeconds: time.overheadSeconds,
      ...throughput(time),
      finalTrainLoss,
      finalValLoss: finalVal?.loss ?? null,
      bestValLoss,
      finalValAccuracy: finalVal?.accuracy ?? null,
      backend: loaded.name,
      tfjsVersion: loaded.tfjsVersion,
      host: os.hostname(),
      seed: training.seed,
    };
  };

  const runEvaluation = (atStep: number): MetricPointOut[] => {
    if (!validation) return [];
    const evalStarted = performance.now();
    const result = evaluate(tf, model, data, validation.xs, validation.ys, data.valCount, atStep);
    attempt.evalMs += performance.now() - evalStarted;
    finalVal = result;
    if (Number.isFinite(result.loss) && (bestValLoss === null || result.loss < bestValLoss)) bestValLoss = result.loss;
    const points = [{ key: "val/loss", step: atStep, value: result.loss, wallTime: now() }];
    if (result.accuracy !== null)
      points.push({ key: "val/accuracy", step: atStep, value: result.accuracy, wallTime: now() });
    return points;
  };

  const cleanup = () => {
    model.dispose();
    optimizer.dispose();
    batches.dispose();
    validation?.xs.dispose();
    validation?.ys.dispose();
  };

  try {
    while (totalSteps === null ? elapsed() < training.budget.seconds! : step < totalSteps) {
      // Let messages (stop, cancel) in between steps, every YIELD_MS: a turn of the event loop after
      // every step cost 5-8% of a small model's step on wasm, more on a busy machine.
      if (hooks.shouldStop && performance.now() - lastYield >= YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      if (hooks.shouldStop?.()) {
        await hooks.onCheckpoint?.(await snapshot());
        return { status: "stopped", summary: summary(), step };
      }
      const lr = learningRateAt(training, step, totalSteps);
      setLearningRate(lr);
      const logging = step % training.logEvery === 0;
      const stepStarted = performance.now();
      let gatherMs = 0;
      const [lossTensor, normTensor] = tf.tidy(() => {
        const gatherStarted = performance.now();
        const { xs, ys } = batches.at(step);
        gatherMs = performance.now() - gatherStarted;
        const { value, grads } = tf.variableGrads(
          () => lossOf(tf, data, model.forward(xs, true, step), ys) as ReturnType<Tf["scalar"]>,
          model.variables,
        );
        const names = Object.keys(grads);
        let norm: Tensor | null = null;
        if (logging || training.clipGradNorm)
          norm = tf.sqrt(tf.addN(names.map((name) => tf.sum(tf.square(grads[name]!)))));
        let applied = grads;
        if (training.clipGradNorm && norm) {
          const scale = tf.minimum(1, tf.div(training.clipGradNorm, tf.add(norm, 1e-12)));
          applied = Object.fromEntries(names.map((name) => [name, tf.mul(grads[name]!, scale)]));
        }
        optimizer.applyGradients(applied as never);
        if (weightDecay > 0)
          for (const variable of model.decayed) variable.assign(tf.mul(variable, 1 - lr * weightDecay));
        return norm ? [value, norm] : [value];
      }) as Tensor[];
      const lossValue = lossTensor!.dataSync()[0]!;
      const gradNorm = normTensor ? normTensor.dataSync()[0]! : null;
      // Reading the loss back waits for the step's kernels: the step is done here. Gathering the batch is data time.
      const stepMs = performance.now() - stepStarted - gatherMs;
      attempt.trainMs += stepMs;
      if (attempt.steps >= WARMUP_STEPS) {
        attempt.steadySteps += 1;
        attempt.steadyMs += stepMs;
      }
      attempt.steps += 1;
      lossTensor!.dispose();
      normTensor?.dispose();

      if (!Number.isFinite(lossValue)) {
        hooks.onPoints?.([{ key: "train/loss", step, value: lossValue, wallTime: now() }]);
        step += 1;
        return {
          status: "diverged",
          summary: summary(),
          step: step - 1,
          error: `the training loss became ${lossValue} at step ${step - 1}`,
        };
      }
      finalTrainLoss = lossValue;
      const points: MetricPointOut[] = [];
      if (logging) {
        const seconds = (performance.now() - lastLog.time) / 1000;
        const samplesPerSecond = step > lastLog.step && seconds > 0 ? ((step - lastLog.step) * batch) / seconds : null;
        lastLog = { time: performance.now(), step };
        const wallTime = now();
        points.push(
          { key: "train/loss", step, value: lossValue, wallTime },
          { key: "lr", step, value: lr, wallTime },
          { key: "wallclock", step, value: elapsed(), wallTime },
          { key: "flops", step, value: stepFlops * (step + 1), wallTime },
          { key: "samples", step, value: batch * (step + 1), wallTime },
          { key: TRAIN_SECONDS_KEY, step, value: clock().trainSeconds, wallTime },
        );
        if (gradNorm !== null) points.push({ key: "grad_norm", step, value: gradNorm, wallTime });
        if (samplesPerSecond !== null) points.push({ key: "samples_per_sec", step, value: samplesPerSecond, wallTime });
        if (tokensPerStep !== null) points.push({ key: "tokens", step, value: tokensPerStep * (step + 1), wallTime });
      }
      step += 1;
      if ((step - 1) % training.evalEvery === 0) points.push(...runEvaluation(step - 1));
      if (points.length) hooks.onPoints?.(points);
      hooks.onProgress?.({
        step,
        totalSteps,
        fraction: totalSteps ? step / totalSteps : Math.min(1, elapsed() / training.budget.seconds!),
        elapsedSeconds: elapsed(),
      });

      const every = hooks.checkpointEvery;
      if (hooks.onCheckpoint && every) {
        const dueBySteps = every.steps !== undefined && step - lastCheckpoint.step >= every.steps;
        const dueByTime =
          every.seconds !== undefined && (performance.now() - lastCheckpoint.time) / 1000 >= every.seconds;
        if (dueBySteps || dueByTime) {
          await hooks.onCheckpoint(await snapshot());
          lastCheckpoint = { time: performance.now(), step };
        }
      }
    }
    if ((step - 1) % training.evalEvery !== 0 || finalVal === null) {
      const points = runEvaluation(step - 1);
      if (points.length) hooks.onPoints?.(points);
    }
    const lastWall = now();
    hooks.onPoints?.([
      { key: "wallclock", step: step - 1, value: elapsed(), wallTime: lastWall },
      { key: "flops", step: step - 1, value: stepFlops * step, wallTime: lastWall },
      { key: "samples", step: step - 1, value: batch * step, wallTime: lastWall },
      ...(tokensPerStep !== null
        ? [{ key: "tokens", step: step - 1, value: tokensPerStep * step, wallTime: lastWall }]
        : []),
      { key: TRAIN_SECONDS_KEY, step: step - 1, value: clock().trainSeconds, wallTime: lastWall },
      ...(finalTrainLoss !== null
        ? [{ key: "train/loss", step: step - 1, value: finalTrainLoss, wallTime: lastWall }]
        : []),
    ]);
    return { status: "succeeded", summary: summary() };
  } finally {
    cleanup();
  }
}
