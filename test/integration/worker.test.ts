import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { fork, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { cancelRuns } from "../../server/domain/run/cancel-runs.ts";
import type { CellConfig } from "../../server/domain/spec/spec-schema.ts";
import type { RunStatus } from "../../server/generated/prisma/enums.ts";
import type { ChildMessage, ParentMessage } from "../../worker/train-process.ts";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { claimsIn, startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";

/**
 * Real worker processes (worker/main.ts, each forking its training children) against a real
 * PostgreSQL: claiming, crash recovery from checkpoints, cancellation, graceful shutdown, divergence
 * and the command runner. Models are tiny so the whole file stays within a few minutes on two cores.
 */

const FINISHED: RunStatus[] = ["succeeded", "failed", "canceled", "diverged"];
const hasPython = spawnSync("python3", ["--version"]).status === 0;

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let teamId: string;
let editorId: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  editorId = (await createUser(database.db, "Wendy")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "editor" })).id;
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
  // Whatever a failed test left unfinished must not be picked up by the next test's workers.
  await database.db.run.updateMany({
    where: { status: { in: ["queued", "running"] } },
    data: { status: "canceled", error: "left over by a test" },
  });
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
  await producer?.stop();
  await database?.drop();
});

function worker(
  name: string,
  options: { slots?: number; env?: Record<string, string>; allowCommands?: boolean } = {},
): WorkerProcess {
  const started = startWorker(database.url, {
    name,
    slots: options.slots ?? 1,
    env: options.env,
    allowCommands: options.allowCommands,
  });
  workers.push(started);
  onTestFailed(() => console.error(`--- output of worker ${name} ---\n${started.output()}`));
  return started;
}

async function apply(source: string): Promise<{ experimentId: string; runIds: string[] }> {
  const caller = createCaller(
    createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }),
  );
  const result = await caller.spec.applySpec({ teamId, source, fileName: "worker-test.yaml" });
  return { experimentId: result.experimentId, runIds: result.created };
}

/**
 * A tiny teacher-regression MLP spec; `extra` is appended YAML (runner, sweep). It checkpoints every
 * 100 steps, so a run interrupted mid-way always has one to resume from.
 */
function tinySpec(
  experiment: string,
  options: { steps: number; width?: number; optimizer?: string; checkpoint?: string; extra?: string },
): string {
  return `
project: Worker test
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 256 }
model: { family: mlp, width: ${options.width ?? 8}, depth: 1 }
training:
  optimizer: ${options.optimizer ?? "{ kind: adam, lr: 0.01 }"}
  batchSize: 32
  budget: { steps: ${options.steps} }
  evalEvery: 500
  logEvery: 10
resources: { backend: wasm }
checkpoint: ${options.checkpoint ?? "{ everySteps: 100, everySeconds: 30 }"}
${options.extra ?? ""}`;
}

function run(runId: string) {
  return database.db.run.findUniqueOrThrow({
    where: { id: runId },
    select: { status: true, attempt: true, maxAttempts: true, workerName: true, error: true, step: true },
  });
}

async function waitUntilFinished(runIds: string[], timeoutMs: number) {
  await waitFor(
    `${runIds.length} run(s) to finish`,
    async () =>
      (await database.db.run.count({ where: { id: { in: runIds }, status: { in: FINISHED } } })) === runIds.length,
    { timeoutMs, intervalMs: 250 },
  );
  return database.db.run.findMany({
    where: { id: { in: runIds } },
    select: { id: true, status: true, attempt: true, workerName: true, error: true },
  });
}

async function seriesSteps(runId: string, key: string): Promise<{ step: number; value: number }[]> {
  return (await readLoggedPoints(database.db, { runId, key })).map(({ step, value }) => ({ step, value }));
}

/** The train/loss steps a run of `totalSteps` logs: every logEvery-th step, and the last step again at the end. */
function expectedLossSteps(totalSteps: number, logEvery = 10): number[] {
  const steps = new Set<number>();
  for (let step = 0; step < totalSteps; step += logEvery) steps.add(step);
  steps.add(totalSteps - 1);
  return [...steps].sort((a, b) => a - b);
}

async function latestCheckpoint(runId: string) {
  return database.db.checkpoint.findFirst({
    where: { runId },
    orderBy: { step: "desc" },
    select: { step: true, attempt: true },
  });
}

describe("worker processes", () => {
  it("three workers share thirty runs: each claimed once, all succeed, every series complete", {
    timeout: 180_000,
  }, async () => {
    const pool = [worker("many-a", { slots: 2 }), worker("many-b", { slots: 2 }), worker("many-c", { slots: 2 })];
    await Promise.all(pool.map((started) => started.ready));
    const { runIds } = await apply(
      tinySpec("thirty", { steps: 200, extra: "sweep: { parameters: { model.width: [4, 8, 16] }, seeds: 10 }" }),
    );
    expect(runIds).toHaveLength(30);

    const runs = await waitUntilFinished(runIds, 150_000);
    expect(runs.filter((entry) => entry.status !== "succeeded")).toEqual([]);
    expect(runs.filter((entry) => entry.attempt !== 1)).toEqual([]);

    const claims = pool.flatMap((started) => claimsIn(started.output()));
    for (const entry of runs) {
      const claimedBy = claims.filter((claim) => claim.runId === entry.id);
      expect(claimedBy, `claims of run ${entry.id}`).toHaveLength(1);
      expect(claimedBy[0]!.worker).toBe(entry.workerName);
    }
    console.log(
      `runs per worker: ${pool.map((started) => `${started.name} ${claimsIn(started.output()).length}`).join(", ")}`,
    );

    for (const runId of runIds) {
      const steps = (await seriesSteps(runId, "train/loss")).map((point) => point.step);
      expect(steps, `train/loss steps of run ${runId}`).toEqual(expectedLossSteps(200));
    }
  });

  it("resumes a run from its checkpoint on another worker after kill -9, without gaps or duplicates", {
    timeout: 120_000,
  }, async () => {
    const stale = { SCALEBOARD_STALE_SECONDS: "4" };
    const pair = [worker("crash-a", { env: stale }), worker("crash-b", { env: stale })];
    await Promise.all(pair.map((started) => started.ready));
    const steps = 3000;
    const {
      runIds: [runId],
    } = await apply(tinySpec("crash", { steps }));

    const checkpoint = await waitFor("a first checkpoint", () => latestCheckpoint(runId!), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    const before = await run(runId!);
    expect(before).toMatchObject({ status: "running", attempt: 1 });
    const victim = pair.find((started) => started.name === before.workerName)!;
    const survivor = pair.find((started) => started !== victim)!;
    const killedAt = performance.now();
    victim.signal("SIGKILL");
    await victim.exited;
    // Its training child notices the worker is gone and exits too.
    await waitFor("the killed worker's training process to exit", async () => !victim.groupAlive(), {
      timeoutMs: 10_000,
    });

    await waitFor(
      "the run to be running again",
      async () => {
        const now = await run(runId!);
        return now.status === "running" && now.attempt === 2;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    console.log(
      `resumed on ${survivor.name} ${((performance.now() - killedAt) / 1000).toFixed(1)} s after kill -9 (first checkpoint at step ${checkpoint.step})`,
    );

    const [finished] = await waitUntilFinished([runId!], 60_000);
    expect(finished).toMatchObject({ status: "succeeded", attempt: 2, workerName: survivor.name });
    const resumed = claimsIn(survivor.output()).find((claim) => claim.runId === runId);
    expect(resumed).toMatchObject({ attempt: 2 });
    expect(resumed!.fromStep).toBeGreaterThanOrEqual(checkpoint.step);

    const loss = await seriesSteps(runId!, "train/loss");
    expect(loss.map((point) => point.step)).toEqual(expectedLossSteps(steps));
    expect(Number.isFinite(loss.at(-1)!.value)).toBe(true);
    const series = await database.db.metricSeries.findUniqueOrThrow({
      where: { runId_key: { runId: runId!, key: "train/loss" } },
      select: { pointCount: true, lastStep: true },
    });
    expect(series).toEqual({ pointCount: loss.length, lastStep: steps - 1 });
  });

  it("stops a running run within seconds of a cancel and keeps its points", { timeout: 60_000 }, async () => {
    const single = worker("cancel-a");
    await single.ready;
    const {
      runIds: [runId],
    } = await apply(tinySpec("cancel", { steps: 50_000 }));
    await waitFor("points from the running run", async () => (await seriesSteps(runId!, "train/loss")).length > 0, {
      timeoutMs: 30_000,
    });

    const requestedAt = performance.now();
    expect(await cancelRuns(database.db, { runIds: [runId!] })).toEqual({ canceled: 0, stopping: 1 });
    await waitFor("the run to be canceled", async () => (await run(runId!)).status === "canceled", {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    console.log(`canceled ${((performance.now() - requestedAt) / 1000).toFixed(1)} s after the request`);
    expect((await run(runId!)).error).toContain("canceled");
    expect((await seriesSteps(runId!, "train/loss")).length).toBeGreaterThan(0);
    expect(single.isRunning()).toBe(true);
  });

  it("gives its runs back with a checkpoint on SIGTERM, and they finish on the next worker", {
    timeout: 120_000,
  }, async () => {
    const first = worker("term-a", { slots: 2 });
    await first.ready;
    const steps = 4000;
    const { runIds } = await apply(tinySpec("sigterm", { steps, extra: "sweep: { seeds: 2 }" }));
    expect(runIds).toHaveLength(2);
    await waitFor(
      "both runs to be running with a checkpoint",
      async () => {
        const states = await Promise.all(
          runIds.map(async (runId) => ({ run: await run(runId), checkpoint: await latestCheckpoint(runId) })),
        );
        return states.every((state) => state.run.status === "running" && state.checkpoint !== null);
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );

    const signaledAt = performance.now();
    first.signal("SIGTERM");
    const exit = await first.exited;
    const exitSeconds = (performance.now() - signaledAt) / 1000;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitSeconds).toBeLessThan(10);
    await waitFor("its training processes to exit", async () => !first.groupAlive(), { timeoutMs: 5_000 });
    for (const runId of runIds) {
      const released = await run(runId);
      expect(released.status).toBe("queued");
      // Being given back by a stopping worker used up none of its 3 attempts.
      expect(released.maxAttempts - released.attempt).toBe(3);
      expect((await latestCheckpoint(runId))?.step).toBeGreaterThan(0);
    }

    const second = worker("term-b", { slots: 2 });
    const finished = await waitUntilFinished(runIds, 60_000);
    expect(finished.map((entry) => entry.status)).toEqual(["succeeded", "succeeded"]);
    const resumed = claimsIn(second.output());
    for (const runId of runIds) {
      const claim = resumed.find((entry) => entry.runId === runId);
      expect(claim, `claim of ${runId}`).toMatchObject({ attempt: 2 });
      expect(claim!.fromStep).toBeGreaterThan(0);
      expect((await seriesSteps(runId, "train/loss")).map((point) => point.step)).toEqual(expectedLossSteps(steps));
    }
  });

  it("keeps checkpoints in SCALEBOARD_CHECKPOINT_DIR; a directory it cannot write fails that run with the reason, and the worker goes on", {
    timeout: 90_000,
  }, async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), "sb-checkpoints-"));
    try {
      // A path below a plain file can never be created.
      const blocker = path.join(folder, "not-a-folder");
      await writeFile(blocker, "");
      const good = worker("dir-good", { env: { SCALEBOARD_CHECKPOINT_DIR: path.join(folder, "shared") } });
      const stored = await apply(tinySpec("dir-stored", { steps: 300 }));
      const [storedRun] = await waitUntilFinished(stored.runIds, 60_000);
      expect(storedRun).toMatchObject({ status: "succeeded", workerName: "dir-good" });
      const checkpoints = await database.db.checkpoint.findMany({
        where: { runId: storedRun!.id },
        select: { path: true, data: true },
      });
      expect(checkpoints.length).toBeGreaterThan(0);
      for (const checkpoint of checkpoints) {
        expect(checkpoint.data).toBeNull();
        expect(checkpoint.path!.startsWith(path.join(folder, "shared", storedRun!.id))).toBe(true);
        expect(existsSync(checkpoint.path!)).toBe(true);
      }
      await good.killAll();

      // Two runs at once on a worker whose folder is broken: the one that checkpoints fails, the other is unaffected.
      worker("dir-bad", { slots: 2, env: { SCALEBOARD_CHECKPOINT_DIR: path.join(blocker, "checkpoints") } });
      const failing = await apply(tinySpec("dir-failing", { steps: 300, checkpoint: "{ everySteps: 50 }" }));
      const unaffected = await apply(tinySpec("dir-unaffected", { steps: 300, checkpoint: "{ everySeconds: 600 }" }));
      const [failed] = await waitUntilFinished(failing.runIds, 60_000);
      expect(failed).toMatchObject({ status: "failed", workerName: "dir-bad" });
      expect(failed!.error).toMatch(/^cannot write the checkpoint to .*not-a-folder.*ENOTDIR/);
      const [succeeded] = await waitUntilFinished(unaffected.runIds, 60_000);
      expect(succeeded).toMatchObject({ status: "succeeded", workerName: "dir-bad", error: null });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("trains run after run in one training process, resuming from a checkpoint, with no tensors left over in between", {
    timeout: 60_000,
  }, async () => {
    const {
      runIds: [runId],
    } = await apply(tinySpec("reuse", { steps: 200 }));
    const { config } = await database.db.run.findUniqueOrThrow({ where: { id: runId! } });
    const child = fork(path.join(import.meta.dirname, "../../worker/train-process.ts"), [], {
      execArgv: ["--import", import.meta.resolve("tsx")],
      serialization: "advanced",
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    try {
      const train = (attempt: string, resume: Uint8Array | null) =>
        new Promise<{
          result: Extract<ChildMessage, { type: "result" }>["result"];
          checkpoints: Uint8Array[];
          idle: Extract<ChildMessage, { type: "idle" }>;
        }>((resolve, reject) => {
          const checkpoints: Uint8Array[] = [];
          let result: Extract<ChildMessage, { type: "result" }>["result"] | null = null;
          const onMessage = (message: ChildMessage) => {
            if (message.type === "checkpoint") checkpoints.push(message.data);
            if (message.type === "result") result = message.result;
            if (message.type === "error") reject(new Error(message.message));
            if (message.type !== "idle") return;
            child.off("message", onMessage);
            if (result) resolve({ result, checkpoints, idle: message });
            else reject(new Error("idle before a result"));
          };
          child.on("message", onMessage);
          child.once("exit", (code) => reject(new Error(`the training process exited (code ${code})`)));
          const start: ParentMessage = {
            type: "start",
            attempt,
            config: config as CellConfig,
            backend: "wasm",
            resume,
            checkpointEvery: { steps: 100 },
          };
          child.send(start);
        });
      const first = await train("first", null);
      expect(first.result).toMatchObject({ status: "succeeded", summary: { steps: 200 } });
      expect(first.idle.tensors).toBe(first.idle.baselineTensors);
      // The same process trains the next run, here resuming from the first run's checkpoint at step 100.
      const second = await train("second", first.checkpoints[0]!);
      expect(second.result).toMatchObject({ status: "succeeded", summary: { steps: 200 } });
      // Resumed in a process that trained before, it ends where the uninterrupted run did.
      expect(second.result.summary.finalTrainLoss).toBeCloseTo(first.result.summary.finalTrainLoss!, 5);
      expect(second.idle.tensors).toBe(second.idle.baselineTensors);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("marks a run whose loss blows up as diverged, naming the step", { timeout: 60_000 }, async () => {
    worker("diverge-a");
    const {
      runIds: [runId],
    } = await apply(tinySpec("diverge", { steps: 300, optimizer: "{ kind: sgd, lr: 1000000 }" }));
    const [finished] = await waitUntilFinished([runId!], 45_000);
    expect(finished!.status).toBe("diverged");
    expect(finished!.error).toMatch(/at step \d+/);
  });

  it("runs a command runner cell and stores its JSON-lines metrics", { timeout: 60_000 }, async () => {
    expect(hasPython, "python3 must be installed: the command runner runs a Python script").toBe(true);
    worker("command-a", { allowCommands: true });
    const runner = `runner: { kind: command, argv: ["python3", "scripts/train_tiny.py", "--width", "{{model.width}}", "--seed", "{{training.seed}}", "--steps", "50"] }`;
    const {
      runIds: [runId],
    } = await apply(tinySpec("command", { steps: 50, extra: runner }));
    const [finished] = await waitUntilFinished([runId!], 45_000);
    expect(finished).toMatchObject({ status: "succeeded", error: null });
    expect((await seriesSteps(runId!, "train/loss")).map((point) => point.step)).toEqual([10, 20, 30, 40, 50]);
    const validation = await seriesSteps(runId!, "val/loss");
    expect(validation.map((point) => point.step)).toEqual([50]);
    expect(Number.isFinite(validation[0]!.value)).toBe(true);
  });

  it("leaves a command run queued for a worker without --allow-commands, and one that allows commands runs it", {
    timeout: 60_000,
  }, async () => {
    const plain = worker("no-commands-a");
    await plain.ready;
    const marker = path.join(os.tmpdir(), `scaleboard-command-marker-${process.pid}-${Date.now()}`);
    const runner = `runner: { kind: command, argv: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(`require("fs").writeFileSync(${JSON.stringify(marker)}, "ran")`)}] }`;
    const {
      runIds: [runId],
    } = await apply(tinySpec("command-opt-in", { steps: 50, extra: runner }));
    // A built-in run queued after it is taken at once: the plain worker is polling, it just never takes the command run.
    const {
      runIds: [builtinId],
    } = await apply(tinySpec("builtin-beside-command", { steps: 20 }));
    await waitUntilFinished([builtinId!], 45_000);
    expect(await run(runId!)).toMatchObject({ status: "queued", attempt: 0, workerName: null });
    expect(existsSync(marker)).toBe(false);
    expect(claimsIn(plain.output()).map((claim) => claim.runId)).not.toContain(runId);

    const allowing = worker("commands-a", { allowCommands: true });
    const [finished] = await waitUntilFinished([runId!], 45_000);
    expect(finished).toMatchObject({ status: "succeeded", workerName: "commands-a" });
    expect(existsSync(marker)).toBe(true);
    expect(allowing.output()).toContain("runs commands");
    await rm(marker, { force: true });
  });

  it("fails a command that runs past runner.timeoutSeconds", { timeout: 60_000 }, async () => {
    worker("timeout-a", { allowCommands: true });
    const runner = `runner: { kind: command, argv: [${JSON.stringify(process.execPath)}, "-e", "setTimeout(() => undefined, 60000)"], timeoutSeconds: 1 }`;
    const {
      runIds: [runId],
    } = await apply(tinySpec("command-timeout", { steps: 50, extra: runner }));
    const [finished] = await waitUntilFinished([runId!], 30_000);
    expect(finished).toMatchObject({ status: "failed", error: "timed out after 1 s (runner.timeoutSeconds)" });
  });
});
