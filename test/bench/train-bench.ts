/**
 * Training throughput bench: the MLP 64 -> w -> w -> 10 (ReLU, batch 128, Adam, MSE) on each
 * tfjs backend, measured three ways:
 *   (a) a bare tfjs loop: variables + optimizer.minimize on one fixed random batch, no logging;
 *   (b) the same model through the real trainer, trainCell (worker/training/train-cell.ts), with
 *       logging on (logEvery 10), a tiny validation split evaluated only at the start and end,
 *       and the worker's shouldStop hook; timed from its onProgress callbacks, so data prep,
 *       backend load, model build and the final evaluation are left out;
 *   (c) numpy/OpenBLAS on the same model (test/bench/numpy_mlp.py), when numpy imports.
 * GFLOP/s = 6 x params x samples/s (2 FLOPs per parameter per sample forward, 4 backward). The analytic FLOPs/step from
 * server/domain/model-size/count-flops.ts is printed alongside.
 *
 * Run: npx tsx test/bench/train-bench.ts [--quick] [--backends wasm,cpu] [--widths 32,128,512,2048]
 *      [--reps N] [--no-numpy] [--out test/bench/results-train.json]
 * Writes test/bench/results-train.json and prints a Markdown table.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { loadBackend, type BackendName, type LoadedBackend, type Tf } from "../../worker/training/backend.ts";
import { trainCell } from "../../worker/training/train-cell.ts";
import { flopsPerStep } from "../../server/domain/model-size/count-flops.ts";
import { countParams } from "../../server/domain/model-size/count-params.ts";
import { datasetShape } from "../../server/domain/model-size/dataset-shape.ts";
import { cellConfigOf } from "../../server/domain/spec/expand-sweep.ts";
import { ZSpec, type CellConfig } from "../../server/domain/spec/spec-schema.ts";
import { log, readArgs, ROOT, writeResult } from "./bench-harness.ts";

const INPUTS = 64;
const OUTPUTS = 10;
const BATCH = 128;

// ---------- arguments ----------

function parseArgs(argv: string[]) {
  const usage =
    "npx tsx test/bench/train-bench.ts [--quick] [--backends wasm,cpu,tfjs-node] [--widths 32,128,512,2048] [--reps N] [--no-numpy] [--out FILE]";
  const { switches, values } = readArgs(argv, {
    usage,
    switches: ["--quick", "--no-numpy"],
    values: ["--backends", "--widths", "--reps", "--out"],
  });
  const list = (flag: string) => values.get(flag)?.split(",").filter(Boolean) ?? null;
  const reps = values.get("--reps");
  const args = {
    quick: switches.has("--quick"),
    backends: list("--backends"),
    widths: list("--widths")?.map(Number) ?? [32, 128, 512, 2048],
    reps: reps === undefined ? null : Number(reps),
    numpy: !switches.has("--no-numpy"),
    out: path.resolve(values.get("--out") ?? path.join(ROOT, "test/bench/results-train.json")),
  };
  if (args.widths.some((width) => !Number.isInteger(width) || width < 1))
    throw new Error("--widths: whole numbers, comma-separated");
  return args;
}

const args = parseArgs(process.argv.slice(2));
/** Time budget per measurement and guard rails; --quick shrinks everything. */
const PLAN = args.quick
  ? {
      targetSeconds: 0.6,
      warmup: 2,
      minSteps: 3,
      maxSteps: 400,
      cellLimitSeconds: 12,
      reps: args.reps ?? 1,
      numpySeconds: 0.4,
    }
  : {
      targetSeconds: 2,
      warmup: 3,
      minSteps: 3,
      maxSteps: 3000,
      cellLimitSeconds: 60,
      reps: args.reps ?? 3,
      numpySeconds: 2,
    };

// loadBackend honours TF_BACKEND over its argument: the bench picks backends itself.
delete process.env.TF_BACKEND;

// ---------- model sizes ----------

const paramsOf = (width: number) => INPUTS * width + width + width * width + width + width * OUTPUTS + OUTPUTS;

function cellConfig(width: number, steps: number): CellConfig {
  return cellConfigOf(
    ZSpec.parse({
      project: "bench",
      experiment: "train-bench",
      // Regression with 10 outputs: the same shapes as a 10-class head, and the same MSE loss as (a) and (c).
      dataset: { kind: "teacher", inputs: INPUTS, outputs: OUTPUTS, hidden: 32, samples: 4096, noise: 0.1, seed: 0 },
      validation: { fraction: 0.05 },
      model: { family: "mlp", depth: 2, width, activation: "relu" },
      training: {
        optimizer: { kind: "adam", lr: 1e-3 },
        batchSize: BATCH,
        budget: { steps },
        logEvery: 10,
        evalEvery: 1_000_000,
        seed: 0,
      },
    }),
  );
}

// ---------- (a) bare loop ----------

/**
 * seconds: wall time over the timed steps (what the table shows); cpuSeconds: this process's CPU
 * time over the same window (contention shows as wall >> cpu); windowSeconds: seconds per step of
 * each whole CHUNK-step window, whose fast quantile is a load-robust second estimate.
 */
type Measurement = {
  steps: number;
  seconds: number;
  cpuSeconds: number;
  samplesPerSecond: number;
  gflops: number;
  windowSeconds: number[];
};
const CHUNK = 10;

const cpuNow = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

const measurement = (
  params: number,
  steps: number,
  seconds: number,
  cpuSeconds: number,
  windowSeconds: number[],
): Measurement => {
  const samplesPerSecond = (steps * BATCH) / seconds;
  return { steps, seconds, cpuSeconds, samplesPerSecond, gflops: (6 * params * samplesPerSecond) / 1e9, windowSeconds };
};

/** The 25th percentile of per-step window times, pooled over reps; null with fewer than 4 windows. */
function fastWindow(reps: Measurement[]): number | null {
  const all = reps.flatMap((rep) => rep.windowSeconds).sort((left, right) => left - right);
  return all.length < 4 ? null : all[Math.floor(0.25 * (all.length - 1))]!;
}

/** A bare tfjs training loop: returns a step function and a disposer. */
function bareModel(tf: Tf, width: number) {
  // tf.variable keeps its initial tensor registered: dispose it, as models.ts does.
  const variableOf = (value: ReturnType<Tf["zeros"]>) => {
    const variable = tf.variable(value);
    value.dispose();
    return variable;
  };
  const layer = (fanIn: number, fanOut: number, gain: number) => [
    variableOf(tf.randomNormal([fanIn, fanOut], 0, gain / Math.sqrt(fanIn), "float32", fanIn * 31 + fanOut)),
    variableOf(tf.zeros([fanOut])),
  ];
  const variables = [
    ...layer(INPUTS, width, Math.SQRT2),
    ...layer(width, width, Math.SQRT2),
    ...layer(width, OUTPUTS, 1),
  ];
  const [w1, b1, w2, b2, w3, b3] = variables as [ReturnType<Tf["variable"]>, ...ReturnType<Tf["variable"]>[]];
  const x = tf.randomNormal([BATCH, INPUTS], 0, 1, "float32", 1);
  const y = tf.randomNormal([BATCH, OUTPUTS], 0, 1, "float32", 2);
  const optimizer = tf.train.adam(1e-3);
  const forward = () => {
    const h1 = tf.relu(tf.add(tf.matMul(x, w1), b1!));
    const h2 = tf.relu(tf.add(tf.matMul(h1, w2!), b2!));
    return tf.add(tf.matMul(h2, w3!), b3!);
  };
  return {
    params: variables.reduce((sum, variable) => sum + variable.size, 0),
    // returnCost false: no read-back per step. wasm, cpu and tfjs-node run kernels synchronously,
    // so the work is done when minimize returns; sync() reads one value at the end regardless.
    step: () =>
      optimizer.minimize(() => tf.losses.meanSquaredError(y, forward()) as ReturnType<Tf["scalar"]>, false, variables),
    sync: () => w1.dataSync()[0],
    dispose: () => {
      optimizer.dispose();
      for (const tensor of [...variables, x, y]) tensor.dispose();
    },
  };
}

/** Steps for about targetSeconds; whole windows of CHUNK steps when there are at least two. */
const clampSteps = (perStep: number) => {
  const steps = Math.max(PLAN.minSteps, Math.min(PLAN.maxSteps, Math.round(PLAN.targetSeconds / perStep)));
  return steps >= 2 * CHUNK ? Math.round(steps / CHUNK) * CHUNK : steps;
};

/** Warm-up, a short calibration to pick the step count (unless given), then timed steps. */
function runBare(
  tf: Tf,
  width: number,
  fixedSteps: number | null,
  warmup: number,
): Measurement & { perStepCalibration: number } {
  const model = bareModel(tf, width);
  try {
    for (let index = 0; index < warmup; index++) model.step();
    model.sync();
    let started = performance.now();
    let perStep = Number.NaN;
    if (fixedSteps === null) {
      let calibration = 0;
      do {
        model.step();
        calibration += 1;
      } while (performance.now() - started < 300);
      model.sync();
      perStep = (performance.now() - started) / 1000 / calibration;
    }
    const steps = fixedSteps ?? clampSteps(perStep);
    const windows: number[] = [];
    started = performance.now();
    const cpuStarted = cpuNow();
    let windowStarted = started;
    for (let index = 1; index <= steps; index++) {
      model.step();
      if (index % CHUNK === 0) {
        const now = performance.now();
        windows.push((now - windowStarted) / 1000 / CHUNK);
        windowStarted = now;
      }
    }
    model.sync();
    return {
      ...measurement(model.params, steps, (performance.now() - started) / 1000, cpuNow() - cpuStarted, windows),
      perStepCalibration: perStep,
    };
  } finally {
    model.dispose();
  }
}

// ---------- (b) trainCell ----------

async function runTrainer(loaded: LoadedBackend, width: number, steps: number, warmup: number) {
  const config = cellConfig(width, warmup + steps);
  const progress: { step: number; time: number; cpu: number }[] = [];
  let points = 0;
  const started = performance.now();
  const result = await trainCell(config, {
    loaded,
    hooks: {
      onPoints: (batch) => {
        points += batch.length;
      },
      onProgress: ({ step }) => {
        if (step === warmup + steps || (step >= warmup && (step - warmup) % CHUNK === 0))
          progress.push({ step, time: performance.now(), cpu: cpuNow() });
      },
      // As the worker's training process does (worker/train-process.ts): this makes trainCell
      // yield to the event loop (setImmediate) before every step.
      shouldStop: () => false,
    },
  });
  const total = (performance.now() - started) / 1000;
  if (result.status !== "succeeded") throw new Error(`trainCell ${result.status}`);
  // onProgress fires after each step with step = steps done: time steps warmup+1 .. warmup+steps.
  const from = progress.find((entry) => entry.step === warmup);
  const to = progress.find((entry) => entry.step === warmup + steps);
  if (!from || !to) throw new Error("trainCell did not report the expected progress");
  const windows = progress
    .filter((entry) => (entry.step - warmup) % CHUNK === 0)
    .flatMap((entry, index, list) =>
      index === 0 || entry.step - list[index - 1]!.step !== CHUNK
        ? []
        : [(entry.time - list[index - 1]!.time) / 1000 / CHUNK],
    );
  return {
    ...measurement(result.summary.paramCount, steps, (to.time - from.time) / 1000, to.cpu - from.cpu, windows),
    wallClockSeconds: total,
    setupAndEvalSeconds: total - (to.time - from.time) / 1000,
    points,
    summary: {
      paramCount: result.summary.paramCount,
      paramCountExpected: result.summary.paramCountExpected,
      flopsPerStep: result.summary.flopsPerStep,
      finalTrainLoss: result.summary.finalTrainLoss,
    },
  };
}

// ---------- (c) numpy ----------

type NumpyRow = {
  width: number;
  params: number;
  steps: number;
  seconds: number;
  samplesPerSecond: number;
  gflops: number;
};
type NumpyRun = {
  blas: { corename?: string | null; num_threads?: number | null; source?: string; libraries?: unknown[] } & Record<
    string,
    unknown
  >;
  results: NumpyRow[];
};

function runNumpy(
  widths: number[],
  threads: number | null,
): { available: true; run: NumpyRun } | { available: false; reason: string } {
  const probe = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return { available: false, reason: "numpy not available" };
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where a machine sets them for an older OpenBLAS, slow a
  // current numpy: unset both for this command alone.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (threads !== null) env.OPENBLAS_NUM_THREADS = String(threads);
  const child = spawnSync(
    "python3",
    [
      path.join(ROOT, "test/bench/numpy_mlp.py"),
      "--widths",
      widths.join(","),
      "--batch",
      String(BATCH),
      "--target-seconds",
      String(PLAN.numpySeconds),
      "--warmup",
      String(PLAN.warmup),
      "--reps",
      "3",
    ],
    { encoding: "utf8", env, timeout: 240_000 },
  );
  if (child.error || child.status !== 0)
    return {
      available: false,
      reason: `numpy bench failed: ${(child.error?.message ?? child.stderr).trim().split("\n").pop()}`,
    };
  return { available: true, run: JSON.parse(child.stdout) as NumpyRun };
}

// ---------- main ----------

type Row = {
  backend: string;
  width: number;
  params: number;
  analyticFlopsPerStep: number;
  conventionFlopsPerStep: number;
  a: (Measurement & { perStepCalibration: number; reps: Measurement[] }) | null;
  b: (Awaited<ReturnType<typeof runTrainer>> & { reps: Measurement[] }) | null;
  ratio: number | null;
  /** (b)/(a) from the fastest 10-step windows (25th percentile, reps pooled): less sensitive to other load. */
  ratioFastWindows: number | null;
  /** Median over reps of (b)/(a) for the (a), (b) pair run back to back. */
  ratioPairsMedian: number | null;
  /** (b)/(a) by this process's CPU time per step (best rep of each). */
  ratioCpu: number | null;
  /** Wall time over CPU time of the best (a) rep: about 1 on an idle machine, higher when other work takes the core. */
  contention: number | null;
  skipped?: string;
};

const fmt = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? "—"
    : value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const best = <T extends Measurement>(list: T[]) =>
  list.reduce((top, entry) => (entry.samplesPerSecond > top.samplesPerSecond ? entry : top));

async function main() {
  const benchStarted = performance.now();
  const loadAtStart = os.loadavg()[0]!;
  if (loadAtStart > 0.5 * os.cpus().length)
    log(
      `warning: load average ${loadAtStart.toFixed(2)} on ${os.cpus().length} cores: other work will skew the numbers`,
    );
  const wanted = (args.backends ?? ["wasm", "cpu", "tfjs-node"]) as BackendName[];
  const rows: Row[] = [];
  const unavailable: { backend: string; reason: string }[] = [];
  const notes: string[] = [];

  // numpy first: it is quick, and it does not share the process with tfjs.
  let numpy: ReturnType<typeof runNumpy> = { available: false, reason: "skipped (--no-numpy)" };
  let numpyOneThread: ReturnType<typeof runNumpy> | null = null;
  if (args.numpy) {
    log("numpy/OpenBLAS (default threads) ...");
    numpy = runNumpy(args.widths, null);
    if (numpy.available) {
      log(`  kernel ${numpy.run.blas.corename} via ${numpy.run.blas.source}, ${numpy.run.blas.num_threads} thread(s)`);
      log("numpy/OpenBLAS (1 thread) ...");
      numpyOneThread = runNumpy(args.widths, 1);
    } else log(`  ${numpy.reason}`);
  }
  const numpyAt = (run: ReturnType<typeof runNumpy> | null, width: number) =>
    run?.available ? (run.run.results.find((row) => row.width === width) ?? null) : null;
  const defaultThreads = numpy.available ? (numpy.run.blas.num_threads ?? null) : null;
  /** numpy's best at a width over its default thread count and one thread (OpenBLAS threads collapse when the cores are busy). */
  const numpyBest = (width: number) => {
    const candidates = [
      { row: numpyAt(numpy, width), threads: defaultThreads },
      { row: numpyAt(numpyOneThread, width), threads: 1 },
    ].filter((entry): entry is { row: NumpyRow; threads: number | null } => entry.row !== null);
    return candidates.length
      ? candidates.reduce((top, entry) => (entry.row.gflops > top.row.gflops ? entry : top))
      : null;
  };

  for (const backend of wanted) {
    let loaded: LoadedBackend;
    try {
      loaded = await loadBackend(backend);
    } catch (error) {
      unavailable.push({ backend, reason: (error as Error).message });
      continue;
    }
    if (loaded.name !== backend) {
      // loadBackend falls back to the next backend; that is not this one.
      const why = loaded.tried.find((entry) => entry.name === backend)?.error ?? `loaded ${loaded.name} instead`;
      unavailable.push({ backend, reason: why });
      log(`${backend}: not available (${why})`);
      continue;
    }
    const { tf } = loaded;
    // Let V8 tier the backend's hot code up (wasm starts on its baseline compiler) before the first cell.
    {
      const warm = bareModel(tf, 64);
      const until = performance.now() + (args.quick ? 300 : 1000);
      while (performance.now() < until) warm.step();
      warm.dispose();
    }
    let lastPerStep: { params: number; seconds: number } | null = null;
    for (const width of args.widths) {
      await tf.setBackend(backend === "tfjs-node" || backend === "tfjs-node-gpu" ? "tensorflow" : backend);
      const params = paramsOf(width);
      const config = cellConfig(width, 1);
      const shape = datasetShape(config.dataset);
      const analytic = flopsPerStep(config.model, shape, BATCH).total;
      if (countParams(config.model, shape) !== params) throw new Error(`parameter count mismatch at width ${width}`);
      const row: Row = {
        backend,
        width,
        params,
        analyticFlopsPerStep: analytic,
        conventionFlopsPerStep: 6 * params * BATCH,
        a: null,
        b: null,
        ratio: null,
        ratioFastWindows: null,
        ratioPairsMedian: null,
        ratioCpu: null,
        contention: null,
      };
      rows.push(row);

      // Too slow to measure? Estimate from the previous width (cost grows about with params).
      const estimate = lastPerStep ? (lastPerStep.seconds * params) / lastPerStep.params : null;
      // Slow cells: two warm-up steps (the first steps at a new size grow the heap), no calibration,
      // as few timed steps as the time allows (at least 2), and as many reps as fit in the cell limit.
      const heavy = estimate !== null && estimate > 0.5;
      const warmup = heavy ? 2 : PLAN.warmup;
      const heavySteps = heavy
        ? Math.max(2, Math.min(PLAN.minSteps, Math.round(PLAN.targetSeconds / estimate!)))
        : null;
      if (estimate !== null) {
        const plannedSteps =
          heavySteps !== null ? 2 * (warmup + heavySteps) : warmup + 1 + PLAN.minSteps + (warmup + PLAN.minSteps);
        if (estimate * plannedSteps > PLAN.cellLimitSeconds) {
          row.skipped = `skipped: about ${fmt(estimate, 1)} s/step, ${fmt(estimate * plannedSteps)} s for the cell (limit ${PLAN.cellLimitSeconds} s)`;
          log(`${backend} w=${width}: ${row.skipped}`);
          continue;
        }
      }
      const reps = heavy
        ? Math.max(1, Math.min(PLAN.reps, Math.floor(PLAN.cellLimitSeconds / (estimate! * 2 * (warmup + heavySteps!)))))
        : PLAN.reps;
      log(
        `${backend} w=${width}: params ${params.toLocaleString("en-US")}${estimate !== null ? `, est. ${fmt(estimate * 1000, 1)} ms/step` : ""}`,
      );

      // (a) then (b), alternated over reps; each rep picks the same step count for both.
      const aReps: (Measurement & { perStepCalibration: number })[] = [];
      const bReps: Awaited<ReturnType<typeof runTrainer>>[] = [];
      for (let rep = 0; rep < reps; rep++) {
        const a = runBare(tf, width, heavySteps ?? (rep === 0 ? null : aReps[0]!.steps), warmup);
        aReps.push(a);
        log(
          `  (a) ${a.steps} steps in ${fmt(a.seconds, 2)} s (cpu ${fmt(a.cpuSeconds, 2)} s): ${fmt(a.samplesPerSecond)} samples/s, ${fmt(a.gflops, 2)} GFLOP/s`,
        );
        const b = await runTrainer(loaded, width, a.steps, warmup);
        bReps.push(b);
        log(
          `  (b) ${b.steps} steps in ${fmt(b.seconds, 2)} s (cpu ${fmt(b.cpuSeconds, 2)} s): ${fmt(b.samplesPerSecond)} samples/s, ${fmt(b.gflops, 2)} GFLOP/s (trainCell wall ${fmt(b.wallClockSeconds, 2)} s)`,
        );
      }
      const a = best(aReps);
      const b = best(bReps);
      row.a = {
        ...a,
        reps: aReps.map(({ steps, seconds, cpuSeconds, samplesPerSecond, gflops, windowSeconds }) => ({
          steps,
          seconds,
          cpuSeconds,
          samplesPerSecond,
          gflops,
          windowSeconds,
        })),
      };
      row.b = {
        ...b,
        reps: bReps.map(({ steps, seconds, cpuSeconds, samplesPerSecond, gflops, windowSeconds }) => ({
          steps,
          seconds,
          cpuSeconds,
          samplesPerSecond,
          gflops,
          windowSeconds,
        })),
      };
      row.ratio = b.samplesPerSecond / a.samplesPerSecond;
      const fastA = fastWindow(aReps);
      const fastB = fastWindow(bReps);
      row.ratioFastWindows = fastA !== null && fastB !== null ? fastA / fastB : null;
      const pairs = aReps
        .map((rep, index) => bReps[index]!.samplesPerSecond / rep.samplesPerSecond)
        .sort((left, right) => left - right);
      row.ratioPairsMedian =
        pairs.length % 2
          ? pairs[(pairs.length - 1) / 2]!
          : (pairs[pairs.length / 2 - 1]! + pairs[pairs.length / 2]!) / 2;
      const cpuPerStep = (reps: Measurement[]) => Math.min(...reps.map((rep) => rep.cpuSeconds / rep.steps));
      row.ratioCpu = cpuPerStep(aReps) / cpuPerStep(bReps);
      row.contention = a.seconds / a.cpuSeconds;
      lastPerStep = { params, seconds: BATCH / a.samplesPerSecond };
      const leaked = tf.memory().numTensors;
      if (leaked > 0) notes.push(`${backend} w=${width}: ${leaked} tensors still allocated after the cell`);
    }
  }

  // ---------- report ----------
  const table: string[] = [];
  table.push(
    "| backend | width | params | (a) samples/s | (a) GFLOP/s | (b) samples/s | (b) GFLOP/s | (b)/(a) | numpy GFLOP/s | wasm/numpy |",
  );
  table.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const best = numpyBest(row.width);
    const np = best?.row ?? null;
    const npCell = best ? `${fmt(best.row.gflops, 1)} (${best.threads ?? "?"}t)` : numpy.available ? "—" : numpy.reason;
    const vsNumpy = row.backend === "wasm" && np && row.a ? `${fmt((100 * row.a.gflops) / np.gflops, 0)}%` : "—";
    if (row.skipped) {
      table.push(`| ${row.backend} | ${row.width} | ${fmt(row.params)} | ${row.skipped} | | | | | ${npCell} | — |`);
      continue;
    }
    table.push(
      `| ${row.backend} | ${row.width} | ${fmt(row.params)} | ${fmt(row.a?.samplesPerSecond)} | ${fmt(row.a?.gflops, 2)} | ${fmt(row.b?.samplesPerSecond)} | ${fmt(row.b?.gflops, 2)} | ${row.ratio === null ? "—" : `${fmt(100 * row.ratio, 1)}%`} | ${npCell} | ${vsNumpy} |`,
    );
  }
  for (const entry of unavailable)
    table.push(`| ${entry.backend} | — | — | not available: ${entry.reason.split("\n")[0]} | | | | | | |`);

  // Goals.
  const measured = rows.filter((row) => row.ratio !== null);
  const below = measured.filter((row) => row.ratio! < 0.95);
  const goal1 = measured.length === 0 ? "not measured" : below.length === 0 ? "met" : "not met";
  const wasm512 = rows.find((row) => row.backend === "wasm" && row.width === 512 && row.a);
  const best512 = numpyBest(512);
  const np512 = best512?.row ?? null;
  const np512default = numpyAt(numpy, 512);
  const np512one = numpyAt(numpyOneThread, 512);
  const share = wasm512 && np512 ? wasm512.a!.gflops / np512.gflops : null;
  const shareB = wasm512?.b && np512 ? wasm512.b.gflops / np512.gflops : null;
  const goal2 =
    share !== null
      ? share >= 0.25
        ? "met"
        : "not met"
      : !wasm512
        ? "not measured (wasm at width 512 was not run)"
        : numpy.available
          ? "not measured"
          : `not measured (${numpy.reason})`;
  const goals = [
    `- (b) >= 95% of (a) in every measured cell: **${goal1}**${below.length ? ` (below: ${below.map((row) => `${row.backend} w=${row.width} ${fmt(100 * row.ratio!, 1)}%`).join(", ")})` : ""}`,
    `- wasm at width 512 >= 25% of numpy's GFLOP/s: **${goal2}**${share !== null ? ` ((a) ${fmt(wasm512!.a!.gflops, 2)} vs numpy's best ${fmt(np512!.gflops, 2)} GFLOP/s (${best512!.threads ?? "?"} thread(s)) = ${fmt(100 * share, 0)}%; through trainCell (b): ${fmt(100 * (shareB ?? NaN), 0)}%; ${[np512default && `numpy ${defaultThreads ?? "?"} threads ${fmt(np512default.gflops, 2)}`, np512one && `1 thread ${fmt(np512one.gflops, 2)}`].filter(Boolean).join(", ")})` : ""}`,
  ];

  const flopsLines = rows
    .filter((row, index, list) => list.findIndex((other) => other.width === row.width) === index)
    .map(
      (row) =>
        `w=${row.width}: analytic ${fmt(row.analyticFlopsPerStep / 1e6, 2)} MFLOP/step (count-flops) vs 6 x params x batch ${fmt(row.conventionFlopsPerStep / 1e6, 2)} (${fmt((100 * row.analyticFlopsPerStep) / row.conventionFlopsPerStep, 2)}%)`,
    );

  const numpyRun = numpy.available ? numpy.run : null;
  const blas = numpyRun?.blas ?? null;
  const numpyLine =
    numpyRun && blas
      ? `numpy ${String(blas.numpy)}: OpenBLAS kernel ${blas.corename ?? "?"} (${blas.source}), default ${blas.num_threads} thread(s): ${numpyRun.results.map((row) => `w=${row.width} ${fmt(row.gflops, 1)}`).join(", ")} GFLOP/s${numpyOneThread?.available ? `; 1 thread: ${numpyOneThread.run.results.map((row) => `w=${row.width} ${fmt(row.gflops, 1)}`).join(", ")} GFLOP/s` : ""}; the table and goal use the better of the two (OpenBLAS's threads collapse when the other core is busy); best of 3 windows each; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for that command`
      : `numpy: ${numpy.available ? "no BLAS information" : numpy.reason}`;

  const elapsed = (performance.now() - benchStarted) / 1000;
  const loadAtEnd = os.loadavg()[0]!;
  const output = [
    `Train bench: MLP 64 -> w -> w -> 10, ReLU, batch ${BATCH}, Adam, MSE; GFLOP/s = 6 x params x samples/s; ${args.quick ? "quick" : "full"} run, best of ${PLAN.reps} rep(s) (fewer for slow cells), ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}, ${fmt(elapsed)} s in all; 1-min load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end.`,
    "",
    ...table,
    "",
    "Goals:",
    ...goals,
    "",
    "Notes:",
    `- ${numpyLine}`,
    `- FLOPs/step: ${flopsLines.join("; ")}`,
    "- (a): optimizer.minimize on one fixed batch, no read-back per step; (b): trainCell with logEvery 10, a 5% validation split evaluated only at the start and end (outside the timed window), shouldStop set as the worker sets it, timed between onProgress callbacks after the same warm-up.",
    ...notes.map((note) => `- ${note}`),
    ...(measured.length
      ? [
          "",
          `Noise check: the same (b)/(a) four ways (they agree on an idle machine). wall/cpu is the best (a) rep's wall time over this process's CPU time (about 1.0 when the core was ours).`,
          "",
          "| backend | width | best (b) / best (a) | median of back-to-back pairs | fastest 10-step windows | CPU time | wall/cpu (a) |",
          "|---|---:|---:|---:|---:|---:|---:|",
          ...measured.map(
            (row) =>
              `| ${row.backend} | ${row.width} | ${fmt(100 * row.ratio!, 1)}% | ${fmt(100 * (row.ratioPairsMedian ?? NaN), 1)}% | ${row.ratioFastWindows === null ? "— (too few steps)" : `${fmt(100 * row.ratioFastWindows, 1)}%`} | ${fmt(100 * (row.ratioCpu ?? NaN), 1)}% | ${fmt(row.contention, 2)} |`,
          ),
        ]
      : []),
  ].join("\n");
  console.log(output);

  writeResult(args.out, {
    date: new Date().toISOString(),
    host: {
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model ?? null,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    args: { quick: args.quick, backends: wanted, widths: args.widths, plan: PLAN },
    model: {
      inputs: INPUTS,
      outputs: OUTPUTS,
      depth: 2,
      activation: "relu",
      batch: BATCH,
      optimizer: "adam",
      loss: "mse",
    },
    rows,
    unavailable,
    numpy: numpy.available ? numpy.run : { reason: numpy.reason },
    numpyOneThread: numpyOneThread?.available ? numpyOneThread.run : null,
    goals: {
      trainerVsBare: {
        status: goal1,
        below: below.map((row) => ({ backend: row.backend, width: row.width, ratio: row.ratio })),
      },
      wasmVsNumpy512: { status: goal2, share, shareTrainer: shareB },
    },
    elapsedSeconds: elapsed,
    markdown: output,
  });
}

await main();
