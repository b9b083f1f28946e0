import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { claimsIn, startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";
import { applySpec, expectedLossSteps, storedSeries, tinySpec, waitUntilFinished } from "./fixtures.ts";

/**
 * A worker host that disappears without dying: its process group is stopped (SIGSTOP) for longer
 * than the stale interval, then continued. The run is resumed on another worker from its checkpoint,
 * and the returning worker, fenced by attempt, writes nothing over it.
 */

const STEPS = 3000;
const STALE_SECONDS = 4;

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let teamId: string;
let editorId: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  editorId = (await createUser(database.db, "Ed")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "editor" })).id;
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.killAll()));
  await producer?.stop();
  await database?.drop();
});

function stopGroup(worker: WorkerProcess, signal: "SIGSTOP" | "SIGCONT") {
  process.kill(-worker.pid, signal);
}

describe("a worker stopped with SIGSTOP past the stale interval", () => {
  it("has its run resumed elsewhere, and cannot write over it when it comes back", { timeout: 120_000 }, async () => {
    const env = {
      SCALEBOARD_CHECKPOINT_STEPS: "100",
      SCALEBOARD_CHECKPOINT_SECONDS: "30",
      SCALEBOARD_STALE_SECONDS: String(STALE_SECONDS),
    };
    const frozen = startWorker(database.url, { name: "frozen", slots: 1, env });
    workers.push(frozen);
    onTestFailed(() => console.error(workers.map((worker) => `--- ${worker.name}\n${worker.output()}`).join("\n")));
    await frozen.ready;
    const [runId] = await applySpec(
      database.db,
      producer.queue,
      editorId,
      teamId,
      tinySpec("sigstop", { steps: STEPS, batchSize: 512 }),
    );
    const run = () =>
      database.db.run.findUniqueOrThrow({
        where: { id: runId! },
        select: { status: true, attempt: true, workerName: true, step: true },
      });

    // Freeze the worker and its training child once the run has a checkpoint to resume from (batches of
    // 512 keep the run training for seconds: warm training processes finish tiny batches in well under one).
    await waitFor(
      "a checkpoint",
      async () => (await database.db.checkpoint.count({ where: { runId: runId!, attempt: 1 } })) > 0,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    stopGroup(frozen, "SIGSTOP");
    const frozenAt = (await run()).step ?? 0;
    const rescuer = startWorker(database.url, { name: "rescuer", slots: 1, env });
    workers.push(rescuer);

    const resumed = await waitFor(
      "attempt 2 on the rescuer, past where the frozen worker stopped",
      async () => {
        const current = await run();
        return current.attempt === 2 && current.workerName === "rescuer" && (current.step ?? 0) > frozenAt + 100
          ? current
          : null;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(resumed.status).toBe("running");
    const claim = claimsIn(rescuer.output()).find((entry) => entry.runId === runId);
    expect(claim?.attempt).toBe(2);
    expect(claim?.fromStep, "resumed from a checkpoint, not from scratch").not.toBeNull();

    // The frozen worker comes back with unflushed points, a heartbeat due and a training child mid-step.
    stopGroup(frozen, "SIGCONT");
    const [finished] = await waitUntilFinished(database.db, [runId!], 60_000);
    expect(finished).toMatchObject({ status: "succeeded", attempt: 2, workerName: "rescuer" });
    await waitFor("the frozen worker to notice it lost the run", async () => /lost|fenced/i.test(frozen.output()), {
      timeoutMs: 20_000,
    });

    // Nothing from attempt 1 after the resume point: the series holds each step once, no gaps.
    const steps = [...(await storedSeries(database.db, runId!, "train/loss")).keys()];
    expect(steps).toEqual(expectedLossSteps(STEPS));
    const checkpoints = await database.db.checkpoint.findMany({ where: { runId: runId! }, select: { attempt: true } });
    expect(
      checkpoints.every((checkpoint) => checkpoint.attempt === 2),
      "only the successor's checkpoints are kept",
    ).toBe(true);
    const lateLogs = await database.db.runLog.count({
      where: {
        runId: runId!,
        attempt: 1,
        createdAt: {
          gt:
            (await database.db.run.findUniqueOrThrow({ where: { id: runId! }, select: { startedAt: true } }))
              .startedAt ?? new Date(0),
        },
      },
    });
    expect(lateLogs, "no log lines from the fenced attempt after the successor started").toBe(0);
    expect(frozen.isRunning(), "the returning worker keeps serving").toBe(true);
  });
});
