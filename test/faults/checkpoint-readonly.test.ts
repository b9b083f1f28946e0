import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { makeReadOnlyDirectory } from "../helpers/fault-processes.ts";
import { claimsIn, startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";
import { applySpec, expectedLossSteps, storedSeries, tinySpec, waitUntilFinished } from "./fixtures.ts";

/**
 * A worker configured to keep checkpoints in a directory it cannot write (SCALEBOARD_CHECKPOINT_DIR
 * read-only): its run fails at the first checkpoint with a reason naming the directory and the
 * error, the worker itself keeps going, and a run on another worker is not disturbed.
 */

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let teamId: string;
let editorId: string;
let folder: string;
let undoReadOnly: (() => Promise<void>) | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  editorId = (await createUser(database.db, "Ed")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "editor" })).id;
  folder = await mkdtemp(path.join(os.tmpdir(), "scaleboard-faults-ckpt-"));
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.killAll()));
  await undoReadOnly?.();
  await rm(folder, { recursive: true, force: true });
  await producer?.stop();
  await database?.drop();
});

describe("a read-only checkpoint directory", () => {
  it("fails the run with a clear reason while other runs continue", { timeout: 120_000 }, async () => {
    const readOnly = path.join(folder, "checkpoints");
    await mkdir(readOnly);
    undoReadOnly = await makeReadOnlyDirectory(readOnly);

    const healthy = startWorker(database.url, {
      name: "healthy",
      slots: 1,
      env: { SCALEBOARD_CHECKPOINT_STEPS: "100" },
    });
    workers.push(healthy);
    onTestFailed(() => console.error(workers.map((worker) => `--- ${worker.name}\n${worker.output()}`).join("\n")));
    await healthy.ready;
    const [other] = await applySpec(
      database.db,
      producer.queue,
      editorId,
      teamId,
      tinySpec("ckpt-other", { steps: 2000 }),
    );
    await waitFor(
      "the healthy worker to train the other run",
      async () => claimsIn(healthy.output()).some((claim) => claim.runId === other),
      { timeoutMs: 30_000 },
    );

    const broken = startWorker(database.url, {
      name: "broken",
      slots: 1,
      env: { SCALEBOARD_CHECKPOINT_STEPS: "100", SCALEBOARD_CHECKPOINT_DIR: readOnly },
    });
    workers.push(broken);
    await broken.ready;
    const [doomed] = await applySpec(
      database.db,
      producer.queue,
      editorId,
      teamId,
      tinySpec("ckpt-doomed", { steps: 3000 }),
    );

    const [failed] = await waitUntilFinished(database.db, [doomed!], 60_000);
    expect(failed).toMatchObject({ status: "failed", workerName: "broken" });
    expect(failed!.error, "the reason names the directory").toContain(readOnly);
    expect(failed!.error, "and the system's error").toMatch(/EACCES|EPERM|EROFS|permission|not permitted|read-only/i);

    const [finished] = await waitUntilFinished(database.db, [other!], 60_000);
    expect(finished).toMatchObject({ status: "succeeded", workerName: "healthy", attempt: 1 });
    expect([...(await storedSeries(database.db, other!, "train/loss")).keys()]).toEqual(expectedLossSteps(2000));
    expect(broken.isRunning(), "the worker with the bad directory keeps running").toBe(true);
    expect(healthy.isRunning()).toBe(true);
  });
});
