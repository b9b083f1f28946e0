import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { init } from "scaleboard/sdk";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { AppError } from "../../server/domain/app-error.ts";
import { createMlflowRun } from "../../server/domain/mlflow/mlflow-runs.ts";
import { recordRunHeartbeat } from "../../server/domain/run/record-run-heartbeat.ts";
import { heartbeatTrackedRun } from "../../server/domain/tracking/track-run.ts";
import { createTeamWith, createUser, callerFor, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startV1Server } from "../helpers/v1-server.ts";
import { startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";

/**
 * Runs tracked over HTTP end `crashed` when their script goes silent (no heartbeat, no point) for the
 * stale interval, as a real worker process's sweep finds them; a heartbeat brings one back. Steps past
 * what the database stores are a 400 naming `step` on every heartbeat path, never a 500.
 */

const STALE_SECONDS = 2;

let database: TestDatabase;
let server: { url: string; close: () => Promise<void> };
let key: string;
let workerKey: string;
let teamId: string;
let adminId: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startV1Server(database.db);
  adminId = (await createUser(database.db, "Tracy")).id;
  teamId = (await createTeamWith(database.db, { [adminId]: "admin" })).id;
  key = (await createApiKey(database.db, teamId, adminId, { name: "ingest", scope: "ingest" })).key;
  workerKey = (await createApiKey(database.db, teamId, adminId, { name: "box", scope: "worker" })).key;
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
  await server?.close();
  await database?.drop();
});

async function call(method: string, route: string, body?: unknown, token = key) {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & { error?: { message: string } },
  };
}

async function track(experiment: string, name: string): Promise<string> {
  const created = await call("POST", "/runs", { project: "Crashes", experiment, name });
  expect(created.status).toBe(201);
  return created.body.runId as string;
}

const statusOf = async (runId: string) =>
  database.db.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true, error: true, finishedAt: true } });

describe("steps past 2147483647 on heartbeats", () => {
  it("answer 400 naming step on /api/v1 and /api/v1/worker heartbeats, and the domain refuses them by name", async () => {
    const runId = await track("bounds", "heartbeat-bound");
    const tracked = await call("POST", `/runs/${runId}/heartbeat`, { step: 2_147_483_648 });
    expect(tracked.status).toBe(400);
    expect(tracked.body.error?.message).toMatch(/^Invalid request: step: /);

    const remote = await call(
      "POST",
      `/worker/runs/${runId}/heartbeat`,
      { attempt: 1, step: 2_147_483_648 },
      workerKey,
    );
    expect(remote.status).toBe(400);
    expect(remote.body.error?.message).toMatch(/^Invalid request: step: /);
    // The largest storable step is taken.
    expect((await call("POST", `/runs/${runId}/heartbeat`, { step: 2_147_483_647 })).status).toBe(200);

    for (const refused of [
      () => recordRunHeartbeat(database.db, runId, 1, { step: 2_147_483_648 }),
      () => heartbeatTrackedRun(database.db, teamId, runId, { step: -1 }),
      () => recordRunHeartbeat(database.db, runId, 1, { step: 1.5 }),
    ]) {
      const error = await refused().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("INVALID_INPUT");
      expect((error as AppError).message).toMatch(/^step: must be a whole number from 0 to 2147483647/);
    }
  });
});

describe("an HTTP-tracked run whose script went silent", () => {
  it("ends crashed after the stale interval, counted in the runs table; one that heartbeats or logs stays running", {
    timeout: 120_000,
  }, async () => {
    const silent = await track("silence", "silent");
    const logging = await track("silence", "logging");
    // The SDK heartbeats by itself while the script lives.
    const sdkRun = await init({
      apiUrl: server.url,
      apiKey: key,
      project: "Crashes",
      experiment: "silence",
      name: "sdk",
      heartbeatIntervalMs: 300,
    });
    const experimentId = (await database.db.run.findUniqueOrThrow({ where: { id: silent } })).experimentId;
    // MLflow's clients never heartbeat and MLflow keeps such a run RUNNING: it is left alone.
    await createMlflowRun(database.db, teamId, { experimentId, tags: [], runName: "mlflow-quiet" });
    const mlflowRun = (await database.db.run.findFirstOrThrow({ where: { name: "mlflow-quiet" } })).id;

    const worker = startWorker(database.url, {
      name: "sweeper",
      slots: 1,
      env: { SCALEBOARD_STALE_SECONDS: String(STALE_SECONDS) },
    });
    workers.push(worker);
    onTestFailed(() => console.error(`--- worker sweeper ---\n${worker.output()}`));
    let step = 0;
    // Points alone are a sign of life: this script never heartbeats.
    const keepLogging = setInterval(() => {
      void call("POST", `/runs/${logging}/points`, { points: [{ key: "train/loss", step: step++, value: 1 }] });
    }, 300);
    try {
      await waitFor("the silent run to crash", async () => (await statusOf(silent)).status === "crashed", {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      // Two more stale intervals: the others would have crashed by now if they were going to.
      await new Promise((resolve) => setTimeout(resolve, 2 * STALE_SECONDS * 1000 + 1000));
    } finally {
      clearInterval(keepLogging);
    }
    const crashed = await statusOf(silent);
    expect(crashed.error).toContain(`for ${STALE_SECONDS} s (SCALEBOARD_STALE_SECONDS)`);
    expect(crashed.finishedAt).not.toBeNull();
    expect((await statusOf(logging)).status).toBe("running");
    expect((await statusOf(sdkRun.id)).status).toBe("running");
    expect((await statusOf(mlflowRun)).status).toBe("running");
    // The first test's run went silent too.
    expect(worker.output()).toMatch(/worker sweeper: \d HTTP-tracked run\(s\) crashed: their scripts went silent/);

    // Shown and counted wherever statuses are: the runs table's filter and the experiment's counts.
    const caller = callerFor(database.db, userActor(adminId));
    const table = await caller.runsTable.list({
      experimentIds: [experimentId],
      filter: { status: ["crashed"] },
      limit: 50,
    });
    expect(table.rows.map((row) => [row.id, row.status])).toEqual([[silent, "crashed"]]);
    expect(table.rows[0]!.error).toBe(crashed.error);
    const projectId = (await database.db.experiment.findUniqueOrThrow({ where: { id: experimentId } })).projectId;
    const experiments = await caller.experiment.list({ projectId });
    expect(experiments.find((experiment) => experiment.id === experimentId)?.statusCounts).toMatchObject({
      crashed: 1,
      running: 3,
    });

    await sdkRun.finish("succeeded");
    expect((await statusOf(sdkRun.id)).status).toBe("succeeded");
  });

  it("comes back running when its script heartbeats again, and may still be finished by it", {
    timeout: 60_000,
  }, async () => {
    const runId = await track("revival", "revived");
    await database.db.run.update({
      where: { id: runId },
      data: { status: "crashed", finishedAt: new Date(), error: "presumed dead" },
    });
    const beat = await call("POST", `/runs/${runId}/heartbeat`, { step: 7 });
    expect(beat.status).toBe(200);
    expect(await statusOf(runId)).toEqual({ status: "running", error: null, finishedAt: null });

    await database.db.run.update({ where: { id: runId }, data: { status: "crashed" } });
    const finished = await call("POST", `/runs/${runId}/finish`, { status: "failed", error: "out of memory" });
    expect(finished.status).toBe(200);
    expect((await statusOf(runId)).status).toBe("failed");
  });
});
