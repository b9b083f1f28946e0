/**
 * Worker bench: real worker processes (worker/main.ts) on a fresh database, measuring
 *   (1) claim-to-first-step latency: from applySpec's commit to the run's first stored MetricPoint,
 *       split into apply -> claimed (Run.startedAt) and claimed -> first point, for tiny runs sent
 *       one at a time to an idle, already started worker;
 *   (2) resume time after kill -9: two workers with SCALEBOARD_STALE_SECONDS=4; the one training a
 *       run is killed once it has a checkpoint; time from the kill until the run is running again
 *       on the other (attempt 2), and until that attempt stores its first point;
 *   (3) throughput: N identical CPU-heavy runs (MLP 16 -> 256 -> 256 -> 1 on wasm, 1000 steps, about
 *       4 s of training each on a free core, checkpoints at the worker's default cadence) on one
 *       worker with --slots 1, then on a fresh one with --slots 2: wall time from apply to the last
 *       run finished, runs/minute and the ratio. Beside it, where the CPU
 *       went: the worker's processes (itself and its training children, from /proc), the rest of
 *       the machine (PostgreSQL, this bench, anything else running), and each run's own training
 *       seconds, so a ratio held down by other work on the machine can be told from one held down
 *       by the worker.
 *
 * Run: npx tsx test/bench/worker-bench.ts [--quick] [--runs 8] [--out test/bench/results-worker.json]
 * --quick (about 1-2 minutes): 4 runs per throughput phase, one latency trial less.
 * --autogroup-nice N (Linux, N < 0 needs root): the scheduler priority of the throughput workers'
 *   session. Linux shares the CPU between sessions (autogroups) first, so on a machine where other
 *   sessions keep the cores busy a second slot gets no more CPU than the first had alone; e.g. -10
 *   approximates a machine of its own. Either way the table shows the cores the worker got.
 * Creates (and drops) its own database on TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 * Prints a Markdown table and writes the figures to test/bench/results-worker.json.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { migrateDatabase } from "../../server/database/migrate.ts";
import { createDb, type Db } from "../../server/db.ts";
import { countLoggedPoints, readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { startProducerQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";
import { createBenchDatabase, median, readArgs, ROOT, writeResult } from "./bench-harness.ts";

const FINISHED = ["succeeded", "failed", "canceled", "diverged"] as const;

const USAGE = "npx tsx test/bench/worker-bench.ts [--quick] [--runs 8] [--autogroup-nice N] [--out FILE]";

function parseArgs(argv: string[]) {
  const { switches, values } = readArgs(argv, {
    usage: USAGE,
    switches: ["--quick"],
    values: ["--runs", "--autogroup-nice", "--out"],
  });
  const nice = values.get("--autogroup-nice");
  const args = {
    quick: switches.has("--quick"),
    autogroupNice: nice === undefined ? null : Number(nice),
    out: path.resolve(values.get("--out") ?? path.join(ROOT, "test/bench/results-worker.json")),
  };
  const runs = Number(values.get("--runs") ?? (args.quick ? 4 : 8));
  if (!Number.isInteger(runs) || runs < 2) throw new Error("--runs: a whole number of at least 2");
  if (
    args.autogroupNice !== null &&
    !(Number.isInteger(args.autogroupNice) && args.autogroupNice >= -20 && args.autogroupNice <= 19)
  )
    throw new Error("--autogroup-nice: a whole number from -20 to 19");
  return { ...args, runs, latencyTrials: args.quick ? 2 : 3 };
}

const args = parseArgs(process.argv.slice(2));

function tinySpec(experiment: string, steps: number): string {
  return `
project: Worker bench
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 256 }
model: { family: mlp, width: 8, depth: 1 }
training: { optimizer: { lr: 0.01 }, batchSize: 32, budget: { steps: ${steps} }, evalEvery: 500, logEvery: 10 }
resources: { backend: wasm }`;
}

/** About 5 s of wasm training per run on the project's machines (2 cores). */
function heavySpec(experiment: string, runs: number): string {
  return `
project: Worker bench
experiment: ${experiment}
dataset: { kind: teacher, inputs: 16, hidden: 32, samples: 2048 }
model: { family: mlp, width: 256, depth: 2 }
training: { optimizer: { lr: 0.001 }, batchSize: 128, budget: { steps: 1000 }, evalEvery: 250, logEvery: 10 }
resources: { backend: wasm }
sweep: { seeds: ${runs} }`;
}

const seconds = (ms: number) => Math.round(ms) / 1000;
const round2 = (value: number) => Math.round(value * 100) / 100;

// ---------- where the CPU went (Linux /proc; null elsewhere) ----------

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/** CPU seconds of a process itself and of its finished, reaped children (utime + stime, cutime + cstime). */
function processTreeCpuSeconds(pid: number): { own: number; children: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm) ": state is field 3, so utime (14) .. cstime (17) sit at 11..14.
    const fields = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    return { own: (fields[11]! + fields[12]!) / CLOCK_TICKS, children: (fields[13]! + fields[14]!) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/**
 * CPU seconds of a process and everything below it: its own, its reaped children's, and (recursively) its
 * live children's. Workers keep their training processes alive between runs, so these are still running.
 */
function treeCpuSeconds(pid: number): { own: number; total: number } | null {
  const cpu = processTreeCpuSeconds(pid);
  if (cpu === null) return null;
  const live = childrenOf(pid).reduce((sum, child) => sum + (treeCpuSeconds(child)?.total ?? 0), 0);
  return { own: cpu.own, total: cpu.own + cpu.children + live };
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** Sets the nice value of a process's autogroup (its session: the worker and its training processes). */
function setAutogroupNice(pid: number, nice: number): void {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch (error) {
    throw new Error(
      `--autogroup-nice ${nice}: cannot set it for the worker (${(error as Error).message}); it needs Linux with autogroups, and root below 0`,
    );
  }
}

/** Busy CPU seconds of the whole machine, all cores (os.cpus() times are in ms). */
const machineBusySeconds = () =>
  os.cpus().reduce((sum, cpu) => sum + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0) / 1000;

async function main() {
  const benchDatabase = await createBenchDatabase("sb_bench_worker");
  const databaseUrl = benchDatabase.url;
  const workers: WorkerProcess[] = [];
  let db: Db | null = null;
  let producer: Awaited<ReturnType<typeof startProducerQueue>> | null = null;
  try {
    await migrateDatabase(databaseUrl);
    db = createDb(databaseUrl);
    const database = db;
    producer = await startProducerQueue(databaseUrl);
    const queue = producer.queue;
    const editorId = (await createUser(database, "Bench")).id;
    const teamId = (await createTeamWith(database, { [editorId]: "editor" })).id;
    const caller = createCaller(
      createTRPCContext({ db: database, actor: userActor(editorId), queue: async () => queue }),
    );
    const apply = async (source: string) => {
      const result = await caller.spec.applySpec({ teamId, source, fileName: "worker-bench.yaml" });
      return { runIds: result.created, appliedAt: Date.now() };
    };
    const worker = async (workerName: string, slots: number, env: Record<string, string> = {}) => {
      const started = startWorker(databaseUrl, {
        name: workerName,
        slots,
        env: { SCALEBOARD_CHECKPOINT_STEPS: "100", ...env },
      });
      workers.push(started);
      await started.ready;
      return started;
    };
    const stop = async (started: WorkerProcess) => {
      await started.killAll();
      workers.splice(workers.indexOf(started), 1);
    };
    const firstPointAt = (runId: string) =>
      waitFor(
        `a point of run ${runId}`,
        async () => ((await countLoggedPoints(database, { runId })) > 0 ? Date.now() : null),
        { timeoutMs: 60_000, intervalMs: 20 },
      );
    const allFinished = (runIds: string[], timeoutMs: number) =>
      waitFor(
        `${runIds.length} run(s) to finish`,
        async () =>
          (await database.run.count({ where: { id: { in: runIds }, status: { in: [...FINISHED] } } })) ===
          runIds.length,
        { timeoutMs, intervalMs: 50 },
      );
    const loadAtStart = os.loadavg()[0]!;

    // (1) claim-to-first-step latency
    console.error("(1) claim-to-first-step latency...");
    const idle = await worker("bench-latency", 1);
    const latency: {
      applyToClaimSeconds: number;
      claimToFirstPointSeconds: number;
      applyToFirstPointSeconds: number;
    }[] = [];
    for (let trial = 0; trial < args.latencyTrials; trial++) {
      const { runIds, appliedAt } = await apply(tinySpec(`latency-${trial}`, 200));
      const runId = runIds[0]!;
      const firstPoint = await firstPointAt(runId);
      const { startedAt } = await database.run.findUniqueOrThrow({ where: { id: runId }, select: { startedAt: true } });
      const claimedAt = startedAt?.getTime() ?? Number.NaN;
      latency.push({
        applyToClaimSeconds: seconds(claimedAt - appliedAt),
        claimToFirstPointSeconds: seconds(firstPoint - claimedAt),
        applyToFirstPointSeconds: seconds(firstPoint - appliedAt),
      });
      await allFinished(runIds, 60_000);
    }
    await stop(idle);

    // (2) resume time after kill -9
    console.error("(2) resume after kill -9...");
    const stale = { SCALEBOARD_STALE_SECONDS: "4" };
    const pair = [await worker("bench-crash-a", 1, stale), await worker("bench-crash-b", 1, stale)];
    const { runIds: crashRuns } = await apply(tinySpec("crash", 6000));
    const crashRun = crashRuns[0]!;
    const checkpoint = await waitFor(
      "a checkpoint",
      () => database.checkpoint.findFirst({ where: { runId: crashRun }, select: { step: true } }),
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    const { workerName } = await database.run.findUniqueOrThrow({
      where: { id: crashRun },
      select: { workerName: true },
    });
    const victim = pair.find((started) => started.name === workerName)!;
    const killedAt = Date.now();
    victim.signal("SIGKILL");
    const runningAgainAt = await waitFor(
      "the run to run again",
      async () => {
        const run = await database.run.findUniqueOrThrow({
          where: { id: crashRun },
          select: { status: true, attempt: true },
        });
        return run.status === "running" && run.attempt === 2 ? Date.now() : null;
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    // The new attempt first deletes the points after its checkpoint, then logs from there on.
    const resumedPointAt = await waitFor(
      "a point from the resumed attempt",
      async () =>
        (await readLoggedPoints(database, { runId: crashRun, key: "train/loss" })).some(
          (point) => point.wallTime !== null && point.wallTime > runningAgainAt / 1000,
        )
          ? Date.now()
          : null,
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    const resume = {
      staleSeconds: 4,
      checkpointStep: checkpoint.step,
      killToRunningSeconds: seconds(runningAgainAt - killedAt),
      killToFirstResumedPointSeconds: seconds(resumedPointAt - killedAt),
    };
    await allFinished([crashRun], 60_000);
    for (const started of [...pair]) await stop(started);

    // (3) throughput, --slots 1 then --slots 2
    type Throughput = {
      slots: number;
      runs: number;
      wallSeconds: number;
      runsPerMinute: number;
      succeeded: number;
      /** Mean per run: the training loop alone (the run's wallClockSeconds), and claim to finish (process start, backend, data, training, final writes). */
      trainSecondsPerRun: number;
      claimToFinishSecondsPerRun: number;
      /** CPU seconds of the worker and its training processes from apply to the last finish; null where /proc is missing. */
      workerCpuSeconds: number | null;
      workerCpuSecondsPerRun: number | null;
      /** Of those, the worker process itself (claims, heartbeats, point and checkpoint writes), per run. */
      workerParentCpuSecondsPerRun: number | null;
      /** Cores in use on average over the phase: by the worker's processes, and by everything else (PostgreSQL, this bench, other work). */
      workerCores: number | null;
      otherCores: number | null;
    };
    const throughput: Throughput[] = [];
    for (const slots of [1, 2]) {
      console.error(`(3) ${args.runs} heavy runs with --slots ${slots}...`);
      // The worker's own checkpoint cadence (the crash phase's every 100 steps would write ten per run).
      const busy = await worker(`bench-slots-${slots}`, slots, { SCALEBOARD_CHECKPOINT_STEPS: "" });
      // The worker runs in a session of its own (startWorker detaches it): one autogroup with its training processes.
      if (args.autogroupNice !== null) setAutogroupNice(busy.pid, args.autogroupNice);
      const cpuBefore = treeCpuSeconds(busy.pid);
      const machineBefore = machineBusySeconds();
      const { runIds, appliedAt } = await apply(heavySpec(`throughput-slots-${slots}`, args.runs));
      await allFinished(runIds, 15 * 60_000);
      const finishedAt = Date.now();
      // Live training processes (kept between runs) and reaped ones alike.
      const cpuAfter = treeCpuSeconds(busy.pid);
      const machineSeconds = machineBusySeconds() - machineBefore;
      const phaseSeconds = (finishedAt - appliedAt) / 1000;
      const runs = await database.run.findMany({
        where: { id: { in: runIds } },
        select: { status: true, wallClockSeconds: true, startedAt: true, finishedAt: true },
      });
      const last = Math.max(...runs.map((run) => run.finishedAt?.getTime() ?? finishedAt));
      const wallSeconds = seconds(last - appliedAt);
      const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
      const workerCpuSeconds = cpuBefore === null || cpuAfter === null ? null : cpuAfter.total - cpuBefore.total;
      throughput.push({
        slots,
        runs: runIds.length,
        wallSeconds,
        runsPerMinute: round2((runIds.length / wallSeconds) * 60),
        succeeded: runs.filter((run) => run.status === "succeeded").length,
        trainSecondsPerRun: round2(mean(runs.map((run) => run.wallClockSeconds ?? Number.NaN))),
        claimToFinishSecondsPerRun: round2(
          mean(
            runs.map(
              (run) => ((run.finishedAt?.getTime() ?? Number.NaN) - (run.startedAt?.getTime() ?? Number.NaN)) / 1000,
            ),
          ),
        ),
        workerCpuSeconds: workerCpuSeconds === null ? null : round2(workerCpuSeconds),
        workerCpuSecondsPerRun: workerCpuSeconds === null ? null : round2(workerCpuSeconds / runIds.length),
        workerParentCpuSecondsPerRun:
          cpuBefore === null || cpuAfter === null ? null : round2((cpuAfter.own - cpuBefore.own) / runIds.length),
        workerCores: workerCpuSeconds === null ? null : round2(workerCpuSeconds / phaseSeconds),
        otherCores: workerCpuSeconds === null ? null : round2((machineSeconds - workerCpuSeconds) / phaseSeconds),
      });
      await stop(busy);
    }
    const ratio = round2(throughput[1]!.runsPerMinute / throughput[0]!.runsPerMinute);
    const cpuPerRun = throughput.map((entry) => entry.workerCpuSecondsPerRun);
    const cpuPerRunRatio = cpuPerRun[0] && cpuPerRun[1] ? round2(cpuPerRun[1] / cpuPerRun[0]) : null;
    const loadAtEnd = os.loadavg()[0]!;

    const rows = [
      [
        `apply -> claimed (median of ${latency.length})`,
        `${median(latency.map((entry) => entry.applyToClaimSeconds)).toFixed(2)} s`,
      ],
      [
        `claimed -> first point stored (median of ${latency.length})`,
        `${median(latency.map((entry) => entry.claimToFirstPointSeconds)).toFixed(2)} s`,
      ],
      [
        `apply -> first point stored (median of ${latency.length})`,
        `${median(latency.map((entry) => entry.applyToFirstPointSeconds)).toFixed(2)} s`,
      ],
      [
        `kill -9 -> running again elsewhere (stale ${resume.staleSeconds} s, checkpoint at step ${resume.checkpointStep})`,
        `${resume.killToRunningSeconds.toFixed(2)} s`,
      ],
      ["kill -9 -> first point of the resumed attempt", `${resume.killToFirstResumedPointSeconds.toFixed(2)} s`],
      ...throughput.map((entry) => [
        `${entry.runs} heavy runs, --slots ${entry.slots}`,
        `${entry.wallSeconds.toFixed(1)} s, ${entry.runsPerMinute} runs/min (${entry.succeeded} succeeded); per run: training ${entry.trainSecondsPerRun.toFixed(2)} s, claim -> finish ${entry.claimToFinishSecondsPerRun.toFixed(2)} s` +
          (entry.workerCpuSecondsPerRun === null
            ? ""
            : `, worker CPU ${entry.workerCpuSecondsPerRun.toFixed(2)} s (${entry.workerParentCpuSecondsPerRun!.toFixed(2)} s in the worker process itself); cores busy: worker ${entry.workerCores!.toFixed(2)}, everything else ${entry.otherCores!.toFixed(2)}`),
      ]),
      ["throughput ratio, --slots 2 / --slots 1", `${ratio}x`],
      ...(cpuPerRunRatio === null ? [] : [["worker CPU per run, --slots 2 / --slots 1", `${cpuPerRunRatio}x`]]),
    ];
    const markdown = [
      `Worker bench (${args.quick ? "quick" : "full"}${args.autogroupNice !== null ? `, throughput workers at autogroup nice ${args.autogroupNice}` : ""}) on ${os.cpus().length} CPU(s), Node ${process.version}; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end.`,
      "",
      "| measurement | result |",
      "| --- | --- |",
      ...rows.map(([what, result]) => `| ${what} | ${result} |`),
    ].join("\n");
    console.log(markdown);
    writeResult(args.out, {
      date: new Date().toISOString(),
      host: os.hostname(),
      cpus: os.cpus().length,
      node: process.version,
      quick: args.quick,
      autogroupNice: args.autogroupNice,
      loadAtStart,
      loadAtEnd,
      latency,
      resume,
      throughput,
      throughputRatio: ratio,
      workerCpuPerRunRatio: cpuPerRunRatio,
      markdown,
    });
  } finally {
    await Promise.all(workers.map((started) => started.killAll()));
    await producer?.stop();
    await db?.$disconnect();
    await benchDatabase.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
