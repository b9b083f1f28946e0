import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import type { RunStatus } from "../../server/generated/prisma/enums.ts";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { claimsIn, startWorker, startWorkerApiServer, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";

/**
 * Workers on other hosts: a real worker process started with only `--server URL` and a worker-scoped
 * API key (no DATABASE_URL in its environment) trains runs through the server's worker API, which
 * runs the real /api/v1 handler against a real PostgreSQL.
 */

const FINISHED: RunStatus[] = ["succeeded", "failed", "canceled", "diverged"];

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let server: { url: string; close: () => Promise<void> };
let teamId: string;
let editorId: string;
const keys = { worker: "", ingest: "", otherTeamWorker: "" };
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  server = await startWorkerApiServer(database.db, producer.queue);
  editorId = (await createUser(database.db, "Rita")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "editor" })).id;
  const otherId = (await createUser(database.db, "Otto")).id;
  const otherTeamId = (await createTeamWith(database.db, { [otherId]: "admin" })).id;
  keys.worker = (await createApiKey(database.db, teamId, editorId, { name: "gpu box", scope: "worker" })).key;
  keys.ingest = (await createApiKey(database.db, teamId, editorId, { name: "notebook", scope: "ingest" })).key;
  keys.otherTeamWorker = (await createApiKey(database.db, otherTeamId, otherId, { name: "their box", scope: "worker" })).key;
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
  await database.db.run.updateMany({ where: { status: { in: ["queued", "running"] } }, data: { status: "canceled", error: "left over by a test" } });
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
  await server?.close();
  await producer?.stop();
  await database?.drop();
});

function remoteWorker(name: string, apiKey: string): WorkerProcess {
  const started = startWorker({ server: server.url, apiKey }, { name, slots: 1 });
  workers.push(started);
  onTestFailed(() => console.error(`--- output of worker ${name} ---\n${started.output()}`));
  return started;
}

async function apply(experiment: string, steps: number): Promise<string> {
  const caller = createCaller(createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }));
  const source = `
project: Remote workers
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 256 }
model: { family: mlp, width: 8, depth: 1 }
training: { optimizer: { kind: adam, lr: 0.01 }, batchSize: 32, budget: { steps: ${steps} }, evalEvery: 500, logEvery: 10 }
resources: { backend: wasm }
checkpoint: { everySteps: 100 }
`;
  const result = await caller.spec.applySpec({ teamId, source, fileName: "remote.yaml" });
  return result.created[0]!;
}

function run(runId: string) {
  return database.db.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true, attempt: true, maxAttempts: true, workerName: true, error: true } });
}

async function lossSteps(runId: string): Promise<number[]> {
  const points = await database.db.metricPoint.findMany({ where: { series: { runId, key: "train/loss" } }, select: { step: true }, orderBy: { step: "asc" } });
  return points.map((point) => point.step);
}

function expectedLossSteps(totalSteps: number): number[] {
  const steps = new Set<number>();
  for (let step = 0; step < totalSteps; step += 10) steps.add(step);
  steps.add(totalSteps - 1);
  return [...steps].sort((a, b) => a - b);
}

async function callWorkerApi(apiKey: string, route: string, body: unknown): Promise<{ status: number; body: { run?: unknown; error?: { message: string } } }> {
  const response = await fetch(`${server.url}/api/v1/worker${route}`, { method: "POST", headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { run?: unknown; error?: { message: string } } };
}

describe("remote workers (--server and a worker API key)", () => {
  it("train a queued run over HTTP only: checkpoints, give-back on SIGTERM, resume on another remote worker", { timeout: 120_000 }, async () => {
    const first = remoteWorker("remote-a", keys.worker);
    await first.ready;
    const steps = 3000;
    const runId = await apply("over-http", steps);
    const checkpoint = await waitFor("a checkpoint saved through the server", () => database.db.checkpoint.findFirst({ where: { runId }, select: { step: true, attempt: true } }), { timeoutMs: 60_000, intervalMs: 100 });
    expect(checkpoint.attempt).toBe(1);
    expect(await run(runId)).toMatchObject({ status: "running", workerName: "remote-a" });
    expect(await database.db.worker.findUniqueOrThrow({ where: { name: "remote-a" }, select: { slots: true, stoppedAt: true } })).toEqual({ slots: 1, stoppedAt: null });

    first.signal("SIGTERM");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const released = await run(runId);
    expect(released.status).toBe("queued");
    expect(released.maxAttempts - released.attempt).toBe(3);
    expect((await database.db.worker.findUniqueOrThrow({ where: { name: "remote-a" }, select: { stoppedAt: true } })).stoppedAt).not.toBeNull();

    const second = remoteWorker("remote-b", keys.worker);
    await waitFor("the run to succeed", async () => FINISHED.includes((await run(runId)).status), { timeoutMs: 60_000, intervalMs: 250 });
    expect(await run(runId)).toMatchObject({ status: "succeeded", attempt: 2, workerName: "remote-b", error: null });
    const resumed = claimsIn(second.output()).find((claim) => claim.runId === runId);
    expect(resumed).toMatchObject({ attempt: 2 });
    expect(resumed!.fromStep).toBeGreaterThanOrEqual(checkpoint.step);
    expect(await lossSteps(runId)).toEqual(expectedLossSteps(steps));
    const logs = await database.db.runLog.findMany({ where: { runId, stream: "system" }, select: { line: true } });
    expect(logs.map((entry) => entry.line)).toContainEqual(expect.stringMatching(/^resuming from the checkpoint at step \d+ \(attempt 2\)$/));
  });

  it("refuses an ingest-scoped key with a clear message", { timeout: 30_000 }, async () => {
    const refused = remoteWorker("remote-ingest", keys.ingest);
    expect(await refused.exited).toEqual({ code: 2, signal: null });
    expect(refused.output()).toContain(`worker: ${server.url} refused the API key: An API key with scope "ingest" cannot run a worker; create a key with scope worker on the Team page`);
  });

  it("never hands a team's runs to another team's worker key", { timeout: 30_000 }, async () => {
    const runId = await apply("team-only", 50);
    const theirs = await callWorkerApi(keys.otherTeamWorker, "/claim", { worker: "their-box" });
    expect(theirs).toEqual({ status: 200, body: { run: null } });
    const touch = await callWorkerApi(keys.otherTeamWorker, `/runs/${runId}/heartbeat`, { attempt: 1 });
    expect(touch).toEqual({ status: 404, body: { error: { message: `Run ${runId} not found` } } });
    expect((await run(runId)).status).toBe("queued");

    const ours = await callWorkerApi(keys.worker, "/claim", { worker: "our-box" });
    expect(ours.status).toBe(200);
    expect(ours.body.run).toMatchObject({ id: runId, attempt: 1, checkpoint: null, checkpointEvery: { steps: 100, seconds: 60 } });
    expect(await run(runId)).toMatchObject({ status: "running", workerName: "our-box" });
  });
});
