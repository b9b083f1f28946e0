/**
 * One entry point for every bench: runs bench:train, bench:ingest, bench:dashboard and bench:worker
 * one after another as child processes (never two at once: they would slow each other), reads the
 * JSON each writes, and prints every performance figure next to its goal, met or not met. A bench
 * that fails, times out or leaves a field out gives a "not measured" row with the reason.
 *
 * Run: npm run bench [-- --quick | --full] [--scale S] [--only train,ingest] [--from DIR] [--timeout MIN]
 *   (default)  every bench at full size: about 8-10 minutes on 2 quiet cores (5 minutes of it before the
 *              dashboard's seeding of 10 million points); on a loaded machine use --scale
 *   --quick    every bench at its quick size (about 5-8 minutes): a smoke test of the figures
 *   --full     every bench at full size (the dashboard's seeding alone takes 5+ minutes)
 *   --scale S  data sizes times S (0 < S <= 1): the dashboard's --scale, the ingest points
 *   --only     run only these benches; the others are "not measured"
 *   --from DIR read results-<bench>.json from DIR instead of running anything (DIR may be test/bench)
 *   --timeout  minutes one bench may run before it is stopped (default 20)
 * Writes test/bench/results.json (git-ignored: every bench's JSON and the figures) and
 * test/bench/results.md (the table, for README's Performance section). The benches' own JSON goes
 * to a temporary folder, so the committed results-*.json files are left as they are.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { log as logLine, readArgs, ROOT } from "./bench-harness.ts";

const BENCHES = ["train", "ingest", "dashboard", "worker"] as const;
type Bench = (typeof BENCHES)[number];
type Mode = "default" | "quick" | "full";

function parseArgs(argv: string[]) {
  const usage =
    "npm run bench -- [--quick | --full] [--scale S] [--only train,ingest,dashboard,worker] [--from DIR] [--timeout MIN]";
  const { switches, values } = readArgs(argv, {
    usage,
    switches: ["--quick", "--full"],
    values: ["--scale", "--only", "--from", "--timeout"],
  });
  if (switches.has("--quick") && switches.has("--full")) throw new Error(`--quick or --full, not both (${usage})`);
  const [scale, only, from, timeout] = ["--scale", "--only", "--from", "--timeout"].map((flag) => values.get(flag));
  const args = {
    mode: (switches.has("--quick") ? "quick" : switches.has("--full") ? "full" : "default") as Mode,
    scale: scale === undefined ? null : Number(scale),
    only: only === undefined ? [...BENCHES] : (only.split(",").map((name) => name.trim()) as Bench[]),
    from: from === undefined ? null : path.resolve(from),
    timeoutMinutes: timeout === undefined ? 20 : Number(timeout),
  };
  const unknown = args.only.filter((name) => !BENCHES.includes(name));
  if (unknown.length) throw new Error(`--only: unknown bench ${unknown.join(", ")} (one of ${BENCHES.join(", ")})`);
  if (args.scale !== null && !(args.scale > 0 && args.scale <= 1)) throw new Error("--scale: a number in (0, 1]");
  if (!(args.timeoutMinutes > 0)) throw new Error("--timeout: minutes, more than 0");
  return args;
}

/** The flags each bench gets, and what that means for its sizes, in words. */
function planFor(bench: Bench, mode: Mode, scale: number | null): { flags: string[]; sizes: string } {
  switch (bench) {
    case "train":
      return mode === "quick"
        ? { flags: ["--quick"], sizes: "quick: shorter timings, 1 rep" }
        : { flags: [], sizes: "full" };
    case "ingest": {
      // Points per phase must be a multiple of 8,000 (8 runs x batches of 1,000); --quick alone means 128,000.
      const points = Math.max(
        8_000,
        Math.round((1_000_000 * (scale ?? (mode === "quick" ? 0.128 : 1))) / 8_000) * 8_000,
      );
      const flags = [
        ...(points < 1_000_000 ? ["--points", String(points)] : []),
        ...(mode === "quick" ? ["--reps", "1"] : []),
      ];
      return {
        flags,
        sizes:
          points < 1_000_000
            ? `${points.toLocaleString("en")} points per phase instead of 1,000,000${mode === "quick" ? ", 1 rep" : ""}`
            : "full",
      };
    }
    case "dashboard": {
      if (scale !== null)
        return {
          flags: ["--scale", String(scale), ...(mode === "quick" ? ["--reps", "3"] : [])],
          sizes: scale < 1 ? `compared runs' points x ${scale}` : "full",
        };
      return mode === "quick"
        ? { flags: ["--quick"], sizes: "quick: compared runs x 10,000 points instead of 100,000, 3 reps" }
        : { flags: [], sizes: "full" };
    }
    case "worker":
      return mode === "quick"
        ? { flags: ["--runs", "4"], sizes: "4 runs per slot count instead of 8" }
        : { flags: [], sizes: "full" };
  }
}

const log = (message: string) => logLine(`[bench] ${message}`);

type BenchRun = {
  bench: Bench;
  flags: string[];
  sizes: string;
  seconds: number | null;
  result: Record<string, unknown> | null;
  problem: string | null;
};

/** Every process below `pid`, found through /proc's parent links (the benches start detached workers and servers of their own). */
function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent pid is the second field after the command name, which is in parentheses and may hold spaces.
      const parent = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended meanwhile.
    }
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length; ) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/**
 * Runs one bench as `node --import tsx test/bench/<bench>-bench.ts ... --out FILE`. Past the time
 * limit it and every process it started get SIGTERM, and SIGKILL 10 s later; a bench stopped this
 * way may leave its database (sb_bench_*) behind, and the log says so.
 */
function runBench(
  bench: Bench,
  flags: string[],
  out: string,
  timeoutMs: number,
): Promise<{ seconds: number; problem: string | null }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, `test/bench/${bench}-bench.ts`), ...flags, "--out", out],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let tail = "";
    const keep = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      stream.write(chunk);
      tail = (tail + chunk.toString("utf8")).slice(-2000);
    };
    child.stdout.on("data", (chunk: Buffer) => keep(chunk, process.stdout));
    child.stderr.on("data", (chunk: Buffer) => keep(chunk, process.stderr));
    let timedOut = false;
    const signal = (pids: number[], name: NodeJS.Signals) => {
      for (const pid of pids) {
        try {
          process.kill(pid, name);
        } catch {
          // Already gone.
        }
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      const family = [child.pid!, ...descendantsOf(child.pid!)];
      signal(family, "SIGTERM");
      setTimeout(() => signal(family, "SIGKILL"), 10_000);
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ seconds: (performance.now() - started) / 1000, problem: `could not start: ${error.message}` });
    });
    child.on("exit", (code, signalName) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const lastLine =
        tail
          .trim()
          .split("\n")
          .filter((line) => line.trim())
          .at(-1)
          ?.slice(0, 300) ?? "";
      if (timedOut)
        resolve({
          seconds,
          problem: `stopped after the ${timeoutMs / 60_000}-minute limit (its database, sb_bench_*, may be left behind)`,
        });
      else if (code !== 0) resolve({ seconds, problem: `exited with ${code ?? signalName}: ${lastLine}` });
      else resolve({ seconds, problem: null });
    });
  });
}

function readResult(file: string): { result: Record<string, unknown> | null; problem: string | null } {
  if (!existsSync(file)) return { result: null, problem: `no ${path.basename(file)} was written` };
  try {
    return { result: JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>, problem: null };
  } catch (error) {
    return { result: null, problem: `${path.basename(file)} is not JSON: ${(error as Error).message}` };
  }
}

// --- Reading figures out of the benches' JSON, tolerant of missing or renamed fields ---

class NotMeasured extends Error {}

/** The finite number at a dotted path, else NotMeasured naming the field. */
function num(source: unknown, dotted: string): number {
  let value: unknown = source;
  for (const part of dotted.split("."))
    value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new NotMeasured(`no number at ${dotted}`);
  return value;
}

function list(source: unknown, field: string): Record<string, unknown>[] {
  const value = source !== null && typeof source === "object" ? (source as Record<string, unknown>)[field] : undefined;
  if (!Array.isArray(value) || value.length === 0) throw new NotMeasured(`no ${field} rows`);
  return value as Record<string, unknown>[];
}

type Figure = { figure: string; goal: string; value: string; status: "met" | "not met" | "not measured"; bench: Bench };

const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;
const times = (ratio: number) => `${ratio.toFixed(2)}x`;
const ms = (value: number) => `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
const whole = (value: number) => Math.round(value).toLocaleString("en");

/** Each goal (issues #10, #16 and #18), read from its bench's JSON: one or more figures, or a reason it is not measured. */
const GOALS: {
  bench: Bench;
  figure: string;
  goal: string;
  read: (result: Record<string, unknown>) => Omit<Figure, "goal" | "bench">[];
}[] = [
  {
    bench: "ingest",
    figure: "ingest through the API vs raw COPY into the old row-per-point layout",
    goal: ">= 100%",
    read: (result) => {
      const ratio = num(result, "ratio");
      const cpu = typeof result.cpuRatio === "number" ? `; ${percent(result.cpuRatio)} by CPU time per point` : "";
      return [
        {
          figure: "ingest through the API vs raw COPY into the old row-per-point layout",
          value: `${percent(ratio)} (${whole(num(result, "api.pointsPerSecond"))} vs ${whole(num(result, "copy.bestPointsPerSecond"))} points/s${cpu})`,
          status: ratio >= 1 ? "met" : "not met",
        },
      ];
    },
  },
  {
    bench: "ingest",
    figure: "bytes a point on disk (chunks, all metric tables and indexes)",
    goal: "<= 24",
    read: (result) =>
      list(result, "footprints").map((row) => {
        const bytes = num(row, "bytesPerPoint");
        return {
          figure: `bytes a point on disk: ${String(row.shape ?? "?")} series, ${whole(num(row, "series"))} x ${whole(num(row, "steps"))} steps`,
          value: `${bytes.toFixed(1)} (${whole(num(row, "points"))} points)`,
          status: bytes <= 24 ? "met" : "not met",
        };
      }),
  },
  ...(
    [
      { window: false, goal: "<= 100 ms" },
      { window: true, goal: "<= 1x the scan" },
    ] as const
  ).map(({ window, goal }) => ({
    bench: "dashboard" as const,
    figure: `compare query, 100 runs x 100,000 points, ${window ? "a window" : "full range"}`,
    goal,
    read: (result: Record<string, unknown>) =>
      list(result, "compare")
        .filter((row) => String(row.case ?? "").includes("full range") !== window)
        .map((row) => {
          const queryMs = num(row, "queryMs");
          const ratio = queryMs / num(row, "scanMs");
          return {
            figure: `compare query vs a bare scan of the same chunks: ${String(row.case ?? "?")}`,
            value: `${ms(queryMs)}, ${times(ratio)} the scan (${ms(num(row, "scanMs"))})`,
            status: (window ? ratio <= 1 : queryMs <= 100) ? ("met" as const) : ("not met" as const),
          };
        }),
  })),
  {
    bench: "dashboard",
    figure: "runs table first page, 10,000 vs 100 runs",
    goal: "<= 1.5x",
    read: (result) => {
      const rows = list(result, "table");
      // With the Run (experimentId, createdAt, id) index, which the migration creates, when the bench measured both.
      const withIndex = rows.filter((row) => row.index === "with");
      const shipped = withIndex.length ? withIndex : rows;
      const worst = shipped.reduce((a, b) =>
        num(b, "ms10k") / num(b, "ms100") > num(a, "ms10k") / num(a, "ms100") ? b : a,
      );
      const ratio = num(worst, "ms10k") / num(worst, "ms100");
      return [
        {
          figure: "runs table first page, 10,000 vs 100 runs",
          value: `${times(ratio)} worst of ${shipped.length} sorts/filters (${String(worst.sort ?? "?")}: ${ms(num(worst, "ms10k"))} vs ${ms(num(worst, "ms100"))})`,
          status: ratio <= 1.5 ? "met" : "not met",
        },
      ];
    },
  },
  {
    bench: "train",
    figure: "trainer vs bare tfjs",
    goal: ">= 95% in every cell",
    read: (result) => {
      const measured = list(result, "rows").filter(
        (row) => typeof row.ratio === "number" && Number.isFinite(row.ratio),
      );
      if (!measured.length) throw new NotMeasured("no row with a trainer/bare ratio");
      const worst = measured.reduce((a, b) => (num(b, "ratio") < num(a, "ratio") ? b : a));
      const ratio = num(worst, "ratio");
      return [
        {
          figure: "trainer vs bare tfjs",
          value: `${percent(ratio)} lowest of ${measured.length} cells (${String(worst.backend)}, width ${String(worst.width)})`,
          status: ratio >= 0.95 ? "met" : "not met",
        },
      ];
    },
  },
  {
    bench: "train",
    figure: "wasm vs numpy at width 512",
    goal: ">= 25%",
    read: (result) => {
      const share = num(result, "goals.wasmVsNumpy512.share");
      return [
        {
          figure: "wasm vs numpy at width 512",
          value: `${percent(share)} of numpy's GFLOP/s`,
          status: share >= 0.25 ? "met" : "not met",
        },
      ];
    },
  },
  {
    bench: "worker",
    figure: "2 slots vs 1",
    goal: ">= 1.8x",
    read: (result) => {
      const ratio = num(result, "throughputRatio");
      return [{ figure: "2 slots vs 1 (runs/minute)", value: times(ratio), status: ratio >= 1.8 ? "met" : "not met" }];
    },
  },
  {
    bench: "dashboard",
    figure: "compare page vs bare Chart.js",
    goal: "<= 1.5x",
    read: (result) => {
      const ratio = num(result, "page.appMs") / num(result, "page.bareMs");
      return [
        {
          figure: "compare page vs bare Chart.js (time to first full draw)",
          value: `${times(ratio)} (${ms(num(result, "page.appMs"))} vs ${ms(num(result, "page.bareMs"))}; the live chart, interactive, at ${ms(num(result, "page.liveMs"))})`,
          status: ratio <= 1.5 ? "met" : "not met",
        },
      ];
    },
  },
];

function figuresOf(runs: Map<Bench, BenchRun>): Figure[] {
  return GOALS.flatMap((goal) => {
    const run = runs.get(goal.bench);
    const notMeasured = (reason: string): Figure[] => [
      {
        bench: goal.bench,
        figure: goal.figure,
        goal: goal.goal,
        value: `not measured: ${reason}`,
        status: "not measured",
      },
    ];
    if (!run) return notMeasured(`bench:${goal.bench} was not run (--only)`);
    if (!run.result) return notMeasured(`bench:${goal.bench}: ${run.problem ?? "no result"}`);
    try {
      return goal.read(run.result).map((figure) => ({ ...figure, goal: goal.goal, bench: goal.bench }));
    } catch (error) {
      if (error instanceof NotMeasured) return notMeasured(`results of bench:${goal.bench} have ${error.message}`);
      throw error;
    }
  });
}

/** The sizes a bench ran at: what its flags mean, or what its JSON says (the dashboard bench lists what it scaled). */
function sizesOf(run: BenchRun): string {
  const result = run.result;
  if (result && Array.isArray(result.scaled))
    return result.scaled.length ? `scaled: ${result.scaled.map(String).join("; ")}` : "full";
  return run.seconds === null ? (reportedSizes(result) ?? "?") : run.sizes;
}

function reportedSizes(result: Record<string, unknown> | null): string | null {
  if (!result) return null;
  const sizes = result.sizes as Record<string, unknown> | undefined;
  if (sizes && typeof sizes.points === "number")
    return `${sizes.points.toLocaleString("en")} points per phase${sizes.scaled ? " (scaled)" : ""}`;
  if (sizes && typeof sizes.scale === "number") return sizes.scale === 1 ? "full" : `points x ${sizes.scale}`;
  const trainArgs = result.args as Record<string, unknown> | undefined;
  if (trainArgs && typeof trainArgs.quick === "boolean") return trainArgs.quick ? "quick run" : "full run";
  const throughput = Array.isArray(result.throughput)
    ? (result.throughput[0] as Record<string, unknown> | undefined)
    : undefined;
  if (throughput && typeof throughput.runs === "number") return `${throughput.runs} runs per slot count`;
  return null;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const loadAtStart = os.loadavg()[0]!;
  const folder = args.from ?? mkdtempSync(path.join(os.tmpdir(), "scaleboard-bench-"));
  const runs = new Map<Bench, BenchRun>();
  log(
    args.from
      ? `reading results-<bench>.json from ${folder}`
      : `mode ${args.mode}${args.scale === null ? "" : `, scale ${args.scale}`}; the benches' JSON goes to ${folder}`,
  );
  for (const bench of args.only.length ? BENCHES.filter((name) => args.only.includes(name)) : []) {
    const plan = planFor(bench, args.mode, args.scale);
    const out = path.join(folder, `results-${bench}.json`);
    if (args.from) {
      runs.set(bench, { bench, flags: [], sizes: "as read", seconds: null, ...readResult(out) });
      continue;
    }
    log(`bench:${bench} ${plan.flags.join(" ") || "(no flags)"}: ${plan.sizes}`);
    const { seconds, problem } = await runBench(bench, plan.flags, out, args.timeoutMinutes * 60_000);
    const read = problem ? { result: null, problem } : readResult(out);
    runs.set(bench, { bench, flags: plan.flags, sizes: plan.sizes, seconds, ...read });
    log(`bench:${bench} ${read.problem ? `gave no result: ${read.problem}` : "done"} after ${seconds.toFixed(0)} s`);
  }

  const figures = figuresOf(runs);
  const elapsed = (performance.now() - started) / 1000;
  const loadAtEnd = os.loadavg()[0]!;
  const cell = (text: string) => text.replaceAll("|", "\\|");
  const lines = [
    `Benchmarks on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${args.from ? "read from earlier results" : `${args.mode} mode${args.scale === null ? "" : `, scale ${args.scale}`}, ${(elapsed / 60).toFixed(1)} minutes in all`}; 1-min load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end.`,
    "",
    "| figure | goal | measured | status |",
    "|---|---|---|---|",
    ...figures.map(
      (figure) => `| ${cell(figure.figure)} | ${cell(figure.goal)} | ${cell(figure.value)} | ${figure.status} |`,
    ),
    "",
    "| bench | flags | sizes | seconds |",
    "|---|---|---|---|",
    ...[...runs.values()].map(
      (run) =>
        `| bench:${run.bench} | ${run.flags.join(" ") || "(none)"} | ${cell(sizesOf(run))} | ${run.seconds === null ? "-" : run.seconds.toFixed(0)} |`,
    ),
  ];
  const markdown = lines.join("\n");
  console.log(`\n${markdown}\n`);
  writeFileSync(path.join(ROOT, "test/bench/results.md"), `${markdown}\n`);
  writeFileSync(
    path.join(ROOT, "test/bench/results.json"),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
        mode: args.mode,
        scale: args.scale,
        from: args.from,
        elapsedSeconds: elapsed,
        loadAtStart,
        loadAtEnd,
        figures,
        benches: Object.fromEntries([...runs.values()].map((run) => [run.bench, run])),
        markdown,
      },
      null,
      2,
    )}\n`,
  );
  log("wrote test/bench/results.json and test/bench/results.md");
}

await main();
