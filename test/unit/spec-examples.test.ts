import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sizeOfCell } from "../../server/domain/model-size/count-flops.ts";
import { expandSweep } from "../../server/domain/spec/expand-sweep.ts";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = join(ROOT, "examples");
const exampleFiles = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith(".yaml"))
  .sort();

/** Cells each example expands to; a new example must be added here. */
const EXPECTED_CELLS: Record<string, number> = {
  // 7 widths (16, 32, ..., 1024) x 3 seeds.
  "mlp-width-scaling.yaml": 21,
  // 4 hidden x 2 embedding, less the (32, 16) corner dropped by `where`, x 2 seeds.
  "char-lm-names.yaml": (4 * 2 - 1) * 2,
  // One run, no sweep.
  "linear-regression.yaml": 1,
  // 3 widths x 2 seeds.
  "python-command.yaml": 3 * 2,
  // 10 hidden widths x 4 budgets, less the 12 the IsoFLOP sweep drops (too few steps, too many epochs), x 2 seeds.
  "compute-optimal.yaml": (10 * 4 - 12) * 2,
};

const load = (name: string) => {
  const file = join(EXAMPLES, name);
  const parsed = parseSpec(readFileSync(file, "utf8"), `examples/${name}`);
  return { file, parsed, cells: expandSweep(parsed) };
};

describe("examples", () => {
  it("every example has an expected cell count, and every count an example", () => {
    expect(exampleFiles).toEqual(Object.keys(EXPECTED_CELLS).sort());
  });

  for (const name of exampleFiles) {
    it(`${name} parses, expands to ${EXPECTED_CELLS[name]} cells and can be sized`, () => {
      const { cells } = load(name);
      expect(cells).toHaveLength(EXPECTED_CELLS[name]!);
      expect(new Set(cells.map((cell) => cell.cellHash)).size).toBe(cells.length);
      expect(new Set(cells.map((cell) => cell.name)).size).toBe(cells.length);
      for (const cell of cells) {
        const size = sizeOfCell(cell.config);
        expect(size.paramCount).toBeGreaterThan(0);
      }
    });
  }

  it("the README describes every example", () => {
    const readme = readFileSync(join(EXAMPLES, "README.md"), "utf8");
    for (const name of exampleFiles) expect(readme).toContain(name);
  });

  it("mlp-width-scaling sweeps widths 16..1024 by doubling", () => {
    const widths = new Set(load("mlp-width-scaling.yaml").cells.map((cell) => cell.params["model.width"]));
    expect([...widths]).toEqual([16, 32, 64, 128, 256, 512, 1024]);
  });

  it("char-lm-names scales lr down with hidden width and skips the (32, 16) corner", () => {
    const { cells } = load("char-lm-names.yaml");
    for (const cell of cells) {
      expect(cell.config.model.family).toBe("char-mlp");
      if (cell.config.model.family !== "char-mlp") continue;
      expect(cell.config.training.optimizer.lr).toBeCloseTo(0.01 / Math.sqrt(cell.config.model.hidden / 32), 12);
      expect(cell.config.model.hidden === 32 && cell.config.model.embedding === 16).toBe(false);
      expect(cell.config.training.batchSize).toBe(64);
      expect(cell.config.training.optimizer.kind).toBe("adam");
    }
    expect(new Set(cells.map((cell) => cell.config.training.seed))).toEqual(new Set([0, 1]));
  });

  it("compute-optimal gives each budget a valley of widths: both ends trained at least 20 steps and at most 4 epochs", () => {
    const { parsed, cells } = load("compute-optimal.yaml");
    const budgets = [1e8, 3e8, 1e9, 3e9];
    expect(new Set(cells.map((cell) => cell.config.training.isoflopBudget))).toEqual(new Set(budgets));
    for (const budget of budgets) {
      const widths = new Set(
        cells
          .filter((cell) => cell.config.training.isoflopBudget === budget)
          .map((cell) => cell.params["model.hidden"] as number),
      );
      // At least five widths per budget, so a parabola in log N has points on both sides of its minimum.
      expect(widths.size, `widths at ${budget}`).toBeGreaterThanOrEqual(5);
    }
    for (const cell of cells) {
      const size = sizeOfCell(cell.config);
      expect(size.totalFlops! / cell.config.training.isoflopBudget!).toBeCloseTo(1, 1);
    }
    expect(parsed.droppedCells).toHaveLength(12 * 2);
    // The quick mode CI runs is written in the spec, where a reader finds it.
    expect(readFileSync(join(EXAMPLES, "compute-optimal.yaml"), "utf8")).toMatch(
      /# Quick mode \(CI, test\/integration\/compute-optimal-example\.test\.ts\): budgets \[1e7, 3e7\], seeds 1\./,
    );
  });

  it("python-command runs a script that exists, from the spec's folder", () => {
    const { file, parsed, cells } = load("python-command.yaml");
    const runner = parsed.spec.runner;
    expect(runner.kind).toBe("command");
    if (runner.kind !== "command") return;
    const cwd = resolve(dirname(file), runner.cwd ?? ".");
    expect(existsSync(join(cwd, runner.argv[1]!))).toBe(true);
    expect(runner.argv).toEqual([
      "python3",
      "scripts/train_tiny.py",
      "--width",
      "{{model.width}}",
      "--seed",
      "{{training.seed}}",
      "--steps",
      "{{training.budget.steps}}",
    ]);
    expect(new Set(cells.map((cell) => cell.params["model.width"]))).toEqual(new Set([8, 16, 32]));
  });
});

describe("examples/linear-regression", () => {
  const csvPath = join(EXAMPLES, "data/linear-regression.csv");
  const script = join(EXAMPLES, "data/make-linear-regression.mjs");

  it("points at its CSV, relative to the spec, with the columns it names", () => {
    const { parsed, cells } = load("linear-regression.yaml");
    const dataset = parsed.spec.dataset;
    expect(dataset.kind).toBe("csv");
    if (dataset.kind !== "csv") return;
    expect(resolve(EXAMPLES, dataset.path)).toBe(csvPath);
    const [header, ...rows] = readFileSync(csvPath, "utf8").trim().split("\n");
    expect(header!.split(",")).toEqual([...dataset.features, dataset.target]);
    expect(rows).toHaveLength(100);
    expect(parsed.spec.validation.fraction).toBe(0);
    expect(parsed.spec.metric.name).toBe("train/loss");
    const training = cells[0]!.config.training;
    expect(training).toMatchObject({ batchSize: "full", budget: { steps: 1000 }, optimizer: { kind: "gd", lr: 0.01 } });
  });

  it("the committed CSV is what the generator makes", () => {
    const dir = mkdtempSync(join(tmpdir(), "scaleboard-lr-"));
    try {
      const out = join(dir, "out.csv");
      execFileSync(process.execPath, [script, out], { stdio: "ignore" });
      expect(readFileSync(out, "utf8")).toBe(readFileSync(csvPath, "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("y is X @ theta_true (the theta written in the generator) plus noise of about 0.1", () => {
    const match = /theta_true = \[([^\]]+)\]/.exec(readFileSync(script, "utf8"));
    expect(match).not.toBeNull();
    const theta = match![1]!.split(",").map(Number);
    expect(theta).toHaveLength(10);
    const rows = readFileSync(csvPath, "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => line.split(",").map(Number));
    const residuals = rows.map(
      (row) => row[10]! - row.slice(0, 10).reduce((sum, x, index) => sum + x * theta[index]!, 0),
    );
    const rms = Math.sqrt(residuals.reduce((sum, value) => sum + value * value, 0) / residuals.length);
    expect(rms).toBeGreaterThan(0.05);
    expect(rms).toBeLessThan(0.15);
    // The elementwise X * theta the seed article wrote would not explain y at all.
    const elementwiseRms = Math.sqrt(
      rows.reduce((sum, row) => sum + (row[10]! - row[0]! * theta[0]!) ** 2, 0) / rows.length,
    );
    expect(elementwiseRms).toBeGreaterThan(1);
  });
});

const hasPython = spawnSync("python3", ["--version"], { stdio: "ignore" }).status === 0;

describe("examples/scripts/train_tiny.py", () => {
  it("has python3 to run it", () => {
    expect(hasPython, "python3 must be installed: the example's command runner is a Python script").toBe(true);
  });

  const run = (args: string[], env: Record<string, string> = {}) =>
    execFileSync("python3", ["scripts/train_tiny.py", ...args], {
      cwd: EXAMPLES,
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: 30_000,
    });
  const records = (stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, number>);

  it("prints JSON-lines metrics ending with val/loss at the last step", () => {
    const lines = records(run(["--width", "8", "--seed", "1", "--steps", "40"]));
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(typeof line.step).toBe("number");
    expect(lines.filter((line) => "train/loss" in line).map((line) => line.step)).toEqual([10, 20, 30, 40]);
    const last = lines.at(-1)!;
    expect(last.step).toBe(40);
    expect(Number.isFinite(last["val/loss"])).toBe(true);
  });

  it("is deterministic for a seed and differs with another", () => {
    const args = ["--width", "8", "--steps", "20"];
    expect(run([...args, "--seed", "3"])).toBe(run([...args, "--seed", "3"]));
    expect(run([...args, "--seed", "4"])).not.toBe(run([...args, "--seed", "3"]));
  });

  it("reads defaults from SCALEBOARD_CONFIG, with arguments taking precedence", () => {
    const config = JSON.stringify({ model: { width: 4 }, training: { budget: { steps: 15 }, logEvery: 5, seed: 2 } });
    const fromConfig = records(run([], { SCALEBOARD_CONFIG: config }));
    expect(fromConfig.at(-1)!.step).toBe(15);
    expect(fromConfig.filter((line) => "train/loss" in line).map((line) => line.step)).toEqual([5, 10, 15]);
    expect(records(run(["--steps", "7"], { SCALEBOARD_CONFIG: config })).at(-1)!.step).toBe(7);
  });

  it(`is named in ${basename(EXAMPLES)}/python-command.yaml's argv`, () => {
    expect(readFileSync(join(EXAMPLES, "python-command.yaml"), "utf8")).toContain('"scripts/train_tiny.py"');
  });
});
