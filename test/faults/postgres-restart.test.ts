import { countLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createDb, type Db } from "../../server/db.ts";
import { findFreePort } from "../../server/database/embedded-postgres.ts";
import { migrateDatabase } from "../../server/database/migrate.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { startProducerQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import {
  killGroup,
  startApiProcess,
  startRestartablePostgres,
  type LoggedProcess,
  type RestartablePostgres,
} from "../helpers/fault-processes.ts";
import { startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";
import {
  applySpec,
  expectClientStored,
  expectedLossSteps,
  loggingClient,
  storedSeries,
  tinySpec,
  waitUntilFinished,
} from "./fixtures.ts";

/**
 * PostgreSQL restarts (fast shutdown, then start on the same data and port) while two workers train
 * and three SDK clients log through the API process: everything reconnects, the runs finish, and each
 * acknowledged point is stored exactly once.
 */

const STEPS = 2500;

let dataDir: string;
let postgres: RestartablePostgres;
let db: Db;
let key: string;
let teamId: string;
let editorId: string;
let api: (LoggedProcess & { url: string }) | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "scaleboard-faults-pg-"));
  postgres = await startRestartablePostgres(dataDir);
  await migrateDatabase(postgres.url);
  db = createDb(postgres.url);
  const editor = await createUser(db, "Ed");
  editorId = editor.id;
  teamId = (await createTeamWith(db, { [editorId]: "editor" })).id;
  key = (await createApiKey(db, teamId, editorId, { name: "ingest", scope: "ingest" })).key;
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.killAll()));
  if (api) await killGroup(api);
  await db?.$disconnect();
  await postgres?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function queueRuns(source: string): Promise<string[]> {
  const producer = await startProducerQueue(postgres.url);
  try {
    return await applySpec(db, producer.queue, editorId, teamId, source);
  } finally {
    await producer.stop();
  }
}

describe("PostgreSQL restart under load", () => {
  it("workers and the API reconnect, runs finish, acknowledged points are stored exactly once", {
    timeout: 150_000,
  }, async () => {
    const env = {
      SCALEBOARD_CHECKPOINT_STEPS: "100",
      SCALEBOARD_CHECKPOINT_SECONDS: "30",
      SCALEBOARD_STALE_SECONDS: "10",
    };
    workers.push(
      startWorker(postgres.url, { name: "pg-a", slots: 1, env }),
      startWorker(postgres.url, { name: "pg-b", slots: 1, env }),
    );
    api = await startApiProcess(postgres.url, await findFreePort());
    onTestFailed(() =>
      console.error(
        [...workers.map((worker) => `--- ${worker.name}\n${worker.output()}`), `--- api\n${api?.output()}`].join("\n"),
      ),
    );
    await Promise.all(workers.map((worker) => worker.ready));

    // Batches of 512: runs of several seconds, so that both are still training when PostgreSQL restarts
    // (workers keep their training processes warm; tiny batches finish in well under a second).
    const runIds = await queueRuns(
      tinySpec("pg-restart", { steps: STEPS, batchSize: 512, extra: "sweep: { seeds: 2 }" }),
    );
    expect(runIds).toHaveLength(2);
    let recovered: () => void = () => undefined;
    const until = new Promise<void>((resolve) => (recovered = resolve));
    onTestFailed(() => recovered());
    const clients = [1, 2, 3].map((client) =>
      loggingClient(api!.url, key, {
        client,
        steps: 200,
        every: 20,
        pauseMs: 50,
        experiment: "pg-restart-clients",
        until,
      }),
    );

    // Restart once both runs are training past their first checkpoint and the clients are logging.
    await waitFor(
      "both runs past step 300",
      async () => (await db.run.count({ where: { id: { in: runIds }, status: "running", step: { gte: 300 } } })) === 2,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    await waitFor("client points", async () => (await countLoggedPoints(db, { key: "loss" })) >= 150, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await postgres.start();
    // The clients log on for a moment after the database is back, then finish.
    setTimeout(recovered, 2_000);

    const results = await Promise.all(clients);
    expect(
      results.reduce((sum, result) => sum + result.failedRequests, 0),
      "the restart reached the clients",
    ).toBeGreaterThan(0);
    // While the database was away the API said so (503, retry), never "internal error" (500).
    expect(results.filter((result) => result.statuses.has(500)).map((result) => result.runId)).toEqual([]);
    for (const [index, result] of results.entries()) await expectClientStored(db, index + 1, result);

    const runs = await waitUntilFinished(db, runIds, 90_000);
    expect(runs.map((run) => run.status)).toEqual(["succeeded", "succeeded"]);
    for (const runId of runIds) {
      const steps = [...(await storedSeries(db, runId, "train/loss")).keys()];
      expect(steps, `train/loss of run ${runId}`).toEqual(expectedLossSteps(STEPS));
    }
    // The queue reconnected too: a run queued after the restart is claimed and trained.
    const [later] = await queueRuns(tinySpec("pg-after", { steps: 100 }));
    const [after] = await waitUntilFinished(db, [later!], 60_000);
    expect(after!.status).toBe("succeeded");
    expect(
      workers.every((worker) => worker.isRunning()),
      "both workers survived the restart",
    ).toBe(true);
    expect(api.isRunning(), "the API process survived the restart").toBe(true);
  });
});
