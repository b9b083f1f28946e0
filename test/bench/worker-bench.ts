/**
 * Worker bench: real worker processes (worker/main.ts) on a fresh database, measuring
 *   (1) claim-to-first-step latency: from applySpec's commit to the run's first stored MetricPoint,
 *       split into apply -> claimed (Run.startedAt) and claimed -> first point, for tiny runs sent
 *       one at a time to an idle, already started worker;
 *   (2) resume time after kill -9: two workers with SCALEBOARD_STALE_SECONDS=4; the one training a
 *       run is killed once it has a checkpoint; time from the kill until the run is running again
 *       on the other (attempt 2), and until that attempt stores its first point;
 *   (3) throughput: N identical CPU-heavy runs (MLP 16 -> 256 -> 256 -> 1 on wasm, about 5 s of
 *       training each) on one worker with --slots 1, then on a fresh one with --slots 2: wall time
 *       from apply to the last run finished, runs/minute and the ratio.
 *
 * Run: npx tsx test/bench/worker-bench.ts [--runs 8] [--out test/bench/results-worker.json]
 * Creates (and drops) its own database on TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 * Prints a Markdown table and writes the figures to test/bench/results-worker.json.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { migrateDatabase } from "../../server/database/migrate.ts";
import { createDb, type Db } from "../../server/db.ts";
import { startProducerQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FINISHED = ["succeeded", "failed", "canceled", "diverged"] as const;

function parseArgs(argv: string[]) {
  const args = { runs: 8, out: path.join(ROOT, "test/bench/results-worker.json") };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const next = argv[++index];
    if (next === undefined) throw new Error(`${arg} needs a value (npx tsx test/bench/worker-bench.ts [--runs 8] [--out FILE])`);
    if (arg === "--runs") args.runs = Number(next);
    else if (arg === "--out") args.out = path.resolve(next);
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 2) throw new Error("--runs: a whole number of at least 2");
  return args;
}

const args = parseArgs(process.argv.slice(2));
const adminUrl = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

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
training: { optimizer: { lr: 0.001 }, batchSize: 128, budget: { steps: 400 }, evalEvery: 200, logEvery: 10 }
resources: { backend: wasm }
sweep: { seeds: ${runs} }`;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const seconds = (ms: number) => Math.round(ms) / 1000;

async function main() {
  const name = `sb_bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
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
    const caller = createCaller(createTRPCContext({ db: database, actor: userActor(editorId), queue: async () => queue }));
    const apply = async (source: string) => {
      const result = await caller.spec.applySpec({ teamId, source, fileName: "worker-bench.yaml" });
      return { runIds: result.created, appliedAt: Date.now() };
    };
    const worker = async (workerName: string, slots: number, env: Record<string, string> = {}) => {
      const started = startWorker(databaseUrl, { name: workerName, slots, env: { SCALEBOARD_CHECKPOINT_STEPS: "100", ...env } });
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
        async () => ((await database.metricPoint.count({ where: { series: { runId } } })) > 0 ? Date.now() : null),
        { timeoutMs: 60_000, intervalMs: 20 },
      );
    const allFinished = (runIds: string[], timeoutMs: number) =>
      waitFor(
        `${runIds.length} run(s) to finish`,
        async () => (await database.run.count({ where: { id: { in: runIds }, status: { in: [...FINISHED] } } })) === runIds.length,
        { timeoutMs, intervalMs: 50 },
      );
    const loadAtStart = os.loadavg()[0]!;

    // (1) claim-to-first-step latency
    console.error("(1) claim-to-first-step latency...");
    const idle = await worker("bench-latency", 1);
    const latency: { applyToClaimSeconds: number; claimToFirstPointSeconds: number; applyToFirstPointSeconds: number }[] = [];
    for (let trial = 0; trial < 3; trial++) {
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
    const checkpoint = await waitFor("a checkpoint", () => database.checkpoint.findFirst({ where: { runId: crashRun }, select: { step: true } }), { timeoutMs: 60_000, intervalMs: 20 });
    const { workerName } = await database.run.findUniqueOrThrow({ where: { id: crashRun }, select: { workerName: true } });
    const victim = pair.find((started) => started.name === workerName)!;
    const killedAt = Date.now();
    victim.signal("SIGKILL");
    const runningAgainAt = await waitFor(
      "the run to run again",
      async () => {
        const run = await database.run.findUniqueOrThrow({ where: { id: crashRun }, select: { status: true, attempt: true } });
        return run.status === "running" && run.attempt === 2 ? Date.now() : null;
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    // The new attempt first deletes the points after its checkpoint, then logs from there on.
    const resumedPointAt = await waitFor(
      "a point from the resumed attempt",
      async () => ((await database.metricPoint.count({ where: { series: { runId: crashRun, key: "train/loss" }, wallTime: { gt: runningAgainAt / 1000 } } })) > 0 ? Date.now() : null),
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
    const throughput: { slots: number; runs: number; wallSeconds: number; runsPerMinute: number; succeeded: number }[] = [];
    for (const slots of [1, 2]) {
      console.error(`(3) ${args.runs} heavy runs with --slots ${slots}...`);
      const busy = await worker(`bench-slots-${slots}`, slots);
      const { runIds, appliedAt } = await apply(heavySpec(`throughput-slots-${slots}`, args.runs));
      await allFinished(runIds, 15 * 60_000);
      const last = await database.run.aggregate({ where: { id: { in: runIds } }, _max: { finishedAt: true } });
      const wallSeconds = seconds((last._max.finishedAt?.getTime() ?? Date.now()) - appliedAt);
      const succeeded = await database.run.count({ where: { id: { in: runIds }, status: "succeeded" } });
      throughput.push({ slots, runs: runIds.length, wallSeconds, runsPerMinute: Math.round((runIds.length / wallSeconds) * 60 * 100) / 100, succeeded });
      await stop(busy);
    }
    const ratio = Math.round((throughput[1]!.runsPerMinute / throughput[0]!.runsPerMinute) * 100) / 100;
    const loadAtEnd = os.loadavg()[0]!;

    const rows = [
      ["apply -> claimed (median of 3)", `${median(latency.map((entry) => entry.applyToClaimSeconds)).toFixed(2)} s`],
      ["claimed -> first point stored (median of 3)", `${median(latency.map((entry) => entry.claimToFirstPointSeconds)).toFixed(2)} s`],
      ["apply -> first point stored (median of 3)", `${median(latency.map((entry) => entry.applyToFirstPointSeconds)).toFixed(2)} s`],
      [`kill -9 -> running again elsewhere (stale ${resume.staleSeconds} s, checkpoint at step ${resume.checkpointStep})`, `${resume.killToRunningSeconds.toFixed(2)} s`],
      ["kill -9 -> first point of the resumed attempt", `${resume.killToFirstResumedPointSeconds.toFixed(2)} s`],
      ...throughput.map((entry) => [`${entry.runs} heavy runs, --slots ${entry.slots}`, `${entry.wallSeconds.toFixed(1)} s, ${entry.runsPerMinute} runs/min (${entry.succeeded} succeeded)`]),
      ["throughput ratio, --slots 2 / --slots 1", `${ratio}x`],
    ];
    const markdown = [
      `Worker bench on ${os.cpus().length} CPU(s), Node ${process.version}; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end.`,
      "",
      "| measurement | result |",
      "| --- | --- |",
      ...rows.map(([what, result]) => `| ${what} | ${result} |`),
    ].join("\n");
    console.log(markdown);
    writeFileSync(
      args.out,
      `${JSON.stringify({ date: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, node: process.version, loadAtStart, loadAtEnd, latency, resume, throughput, throughputRatio: ratio, markdown }, null, 2)}\n`,
    );
    console.error(`wrote ${path.relative(process.cwd(), args.out)}`);
  } finally {
    await Promise.all(workers.map((started) => started.killAll()));
    await producer?.stop();
    await db?.$disconnect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
