import { countLoggedPoints, readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
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
const keys = { worker: "", secondWorker: "", ingest: "", otherTeamWorker: "" };
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
  keys.secondWorker = (await createApiKey(database.db, teamId, editorId, { name: "second box", scope: "worker" })).key;
  keys.ingest = (await createApiKey(database.db, teamId, editorId, { name: "notebook", scope: "ingest" })).key;
  keys.otherTeamWorker = (
    await createApiKey(database.db, otherTeamId, otherId, { name: "their box", scope: "worker" })
  ).key;
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
  await database.db.run.updateMany({
    where: { status: { in: ["queued", "running"] } },
    data: { status: "canceled", error: "left over by a test" },
  });
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
  await server?.close();
  await producer?.stop();
  await database?.drop();
});

function remoteWorker(name: string, apiKey: string, allowCommands = false): WorkerProcess {
  const started = startWorker({ server: server.url, apiKey }, { name, slots: 1, allowCommands });
  workers.push(started);
  onTestFailed(() => console.error(`--- output of worker ${name} ---\n${started.output()}`));
  return started;
}

async function apply(experiment: string, steps: number, extra = ""): Promise<string> {
  const caller = createCaller(
    createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }),
  );
  const source = `
project: Remote workers
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 256 }
model: { family: mlp, width: 8, depth: 1 }
training: { optimizer: { kind: adam, lr: 0.01 }, batchSize: 32, budget: { steps: ${steps} }, evalEvery: 500, logEvery: 10 }
resources: { backend: wasm }
checkpoint: { everySteps: 100 }
${extra}
`;
  const result = await caller.spec.applySpec({ teamId, source, fileName: "remote.yaml" });
  return result.created[0]!;
}

function run(runId: string) {
  return database.db.run.findUniqueOrThrow({
    where: { id: runId },
    select: { status: true, attempt: true, maxAttempts: true, workerName: true, error: true },
  });
}

async function lossSteps(runId: string): Promise<number[]> {
  const points = await readLoggedPoints(database.db, { runId, key: "train/loss" });
  return points.map((point) => point.step);
}

function expectedLossSteps(totalSteps: number): number[] {
  const steps = new Set<number>();
  for (let step = 0; step < totalSteps; step += 10) steps.add(step);
  steps.add(totalSteps - 1);
  return [...steps].sort((a, b) => a - b);
}

type ApiAnswer = {
  status: number;
  body: {
    run?: { id: string; attempt: number } | null;
    key?: string;
    keyId?: string;
    runId?: string;
    error?: { message: string };
  };
};

async function callApi(apiKey: string, method: "GET" | "POST", route: string, body?: unknown): Promise<ApiAnswer> {
  const response = await fetch(`${server.url}/api/v1${route}`, {
    method,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as ApiAnswer["body"] };
}

const callWorkerApi = (apiKey: string, route: string, body: unknown) =>
  callApi(apiKey, "POST", `/worker${route}`, body);

const identity = (name: string, host: string) => ({ name, host, pid: 1, slots: 1 });

describe("remote workers (--server and a worker API key)", () => {
  it("train a queued run over HTTP only: checkpoints, give-back on SIGTERM, resume on another remote worker", {
    timeout: 120_000,
  }, async () => {
    const first = remoteWorker("remote-a", keys.worker);
    await first.ready;
    const steps = 3000;
    const runId = await apply("over-http", steps);
    const checkpoint = await waitFor(
      "a checkpoint saved through the server",
      () => database.db.checkpoint.findFirst({ where: { runId }, select: { step: true, attempt: true } }),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(checkpoint.attempt).toBe(1);
    expect(await run(runId)).toMatchObject({ status: "running", workerName: "remote-a" });
    expect(
      await database.db.worker.findUniqueOrThrow({
        where: { teamId_name: { teamId, name: "remote-a" } },
        select: { slots: true, stoppedAt: true, allowsCommands: true },
      }),
    ).toEqual({ slots: 1, stoppedAt: null, allowsCommands: false });

    first.signal("SIGTERM");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const released = await run(runId);
    expect(released.status).toBe("queued");
    expect(released.maxAttempts - released.attempt).toBe(3);
    expect(
      (
        await database.db.worker.findUniqueOrThrow({
          where: { teamId_name: { teamId, name: "remote-a" } },
          select: { stoppedAt: true },
        })
      ).stoppedAt,
    ).not.toBeNull();

    const second = remoteWorker("remote-b", keys.worker);
    await waitFor("the run to succeed", async () => FINISHED.includes((await run(runId)).status), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    expect(await run(runId)).toMatchObject({ status: "succeeded", attempt: 2, workerName: "remote-b", error: null });
    const resumed = claimsIn(second.output()).find((claim) => claim.runId === runId);
    expect(resumed).toMatchObject({ attempt: 2 });
    expect(resumed!.fromStep).toBeGreaterThanOrEqual(checkpoint.step);
    expect(await lossSteps(runId)).toEqual(expectedLossSteps(steps));
    const logs = await database.db.runLog.findMany({ where: { runId, stream: "system" }, select: { line: true } });
    expect(logs.map((entry) => entry.line)).toContainEqual(
      expect.stringMatching(/^resuming from the checkpoint at step \d+ \(attempt 2\)$/),
    );
  });

  it("refuses an ingest-scoped key with a clear message", { timeout: 30_000 }, async () => {
    const refused = remoteWorker("remote-ingest", keys.ingest);
    expect(await refused.exited).toEqual({ code: 2, signal: null });
    expect(refused.output()).toContain(
      `worker: ${server.url} refused the API key: An API key with scope "ingest" cannot run a worker; create a key with scope worker on the Team page`,
    );
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
    expect(ours.body.run).toMatchObject({
      id: runId,
      attempt: 1,
      checkpoint: null,
      checkpointEvery: { steps: 100, seconds: 60 },
    });
    expect(await run(runId)).toMatchObject({ status: "running", workerName: "our-box" });
  });

  it("keeps each team's worker entries to itself: another team's key cannot stop or overwrite them", {
    timeout: 30_000,
  }, async () => {
    expect(
      (await callWorkerApi(keys.worker, "/status", { ...identity("gpu-1", "ours.example"), state: "starting" })).status,
    ).toBe(200);
    // Team B's key uses the same worker name: it gets an entry of its own, and ours is untouched.
    expect(
      (
        await callWorkerApi(keys.otherTeamWorker, "/status", {
          ...identity("gpu-1", "theirs.example"),
          state: "stopped",
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await callWorkerApi(keys.otherTeamWorker, "/status", {
          ...identity("gpu-1", "theirs.example"),
          allowsCommands: true,
          state: "starting",
        })
      ).status,
    ).toBe(200);
    const entries = await database.db.worker.findMany({
      where: { name: "gpu-1" },
      select: { teamId: true, host: true, stoppedAt: true, allowsCommands: true },
      orderBy: { host: "asc" },
    });
    const otherTeamId = (
      await database.db.apiKey.findFirstOrThrow({ where: { name: "their box" }, select: { teamId: true } })
    ).teamId;
    expect(entries).toEqual([
      { teamId, host: "ours.example", stoppedAt: null, allowsCommands: false },
      { teamId: otherTeamId, host: "theirs.example", stoppedAt: null, allowsCommands: true },
    ]);
  });

  it("hands command runs only to a claim that allows commands; mints a run key only for a command run the key holds; that key writes only its run and dies with it", {
    timeout: 30_000,
  }, async () => {
    const commandRunId = await apply("remote-command", 50, `runner: { kind: command, argv: ["true"] }`);
    // A worker that does not allow commands gets nothing, and the run stays queued, untouched.
    expect((await callWorkerApi(keys.worker, "/claim", { worker: "plain-box" })).body).toEqual({ run: null });
    expect(await run(commandRunId)).toMatchObject({ status: "queued", attempt: 0, workerName: null });

    await callWorkerApi(keys.worker, "/status", {
      ...identity("command-box", "h"),
      allowsCommands: false,
      state: "starting",
    });
    const claimed = await callWorkerApi(keys.worker, "/claim", { worker: "command-box", allowCommands: true });
    expect(claimed.body.run).toMatchObject({ id: commandRunId, attempt: 1 });
    // The claim says the worker allows commands, and the registry records it.
    expect(
      await database.db.worker.findUniqueOrThrow({
        where: { teamId_name: { teamId, name: "command-box" } },
        select: { allowsCommands: true },
      }),
    ).toEqual({ allowsCommands: true });

    // Another worker key of the same team did not claim it: no key.
    const notHeld = await callWorkerApi(keys.secondWorker, `/runs/${commandRunId}/run-key`, { attempt: 1 });
    expect(notHeld.status).toBe(403);
    expect(notHeld.body.error?.message).toMatch(/not held by this worker key/);
    // An HTTP-tracked run of the team, never claimed by any worker: no key either.
    const tracked = await callApi(keys.ingest, "POST", "/runs", { project: "Remote workers", experiment: "tracked" });
    expect(tracked.status).toBe(201);
    const trackedRunId = tracked.body.runId!;
    expect((await callWorkerApi(keys.worker, `/runs/${trackedRunId}/run-key`, { attempt: 1 })).status).toBe(403);
    // Nor may a worker key write to runs it did not claim: answered as for a lost attempt, nothing changes.
    expect((await callWorkerApi(keys.secondWorker, `/runs/${commandRunId}/heartbeat`, { attempt: 1 })).body).toEqual({
      owned: false,
      cancelRequested: false,
    });
    expect(
      (await callWorkerApi(keys.secondWorker, `/runs/${commandRunId}/finish`, { attempt: 1, status: "failed" })).body,
    ).toEqual({ finished: false });
    expect(
      (
        await callWorkerApi(keys.worker, `/runs/${trackedRunId}/points`, {
          attempt: 1,
          points: [{ key: "train/loss", step: 1, value: 1 }],
        })
      ).body,
    ).toEqual({ owned: false });
    expect(
      (await callWorkerApi(keys.worker, `/runs/${trackedRunId}/finish`, { attempt: 1, status: "failed" })).body,
    ).toEqual({ finished: false });
    expect((await run(trackedRunId)).status).toBe("running");
    expect(await run(commandRunId)).toMatchObject({ status: "running", attempt: 1 });
    // A stale attempt of the held run: refused.
    expect((await callWorkerApi(keys.worker, `/runs/${commandRunId}/run-key`, { attempt: 2 })).status).toBe(409);

    const minted = await callWorkerApi(keys.worker, `/runs/${commandRunId}/run-key`, { attempt: 1 });
    expect(minted.status).toBe(200);
    const runKey = minted.body.key!;
    const point = { points: [{ key: "train/loss", step: 1, value: 0.5 }] };
    expect(await callApi(runKey, "POST", `/runs/${commandRunId}/points`, point)).toEqual({
      status: 200,
      body: { runId: commandRunId, stored: 1, new: 1, replaced: 0, unchanged: 0 },
    });
    expect(await callApi(runKey, "POST", "/runs", { runId: commandRunId })).toMatchObject({
      status: 200,
      body: { runId: commandRunId },
    });
    // Any other run of the same team is out of its reach, as if it did not exist.
    expect(await callApi(runKey, "POST", `/runs/${trackedRunId}/points`, point)).toEqual({
      status: 404,
      body: { error: { message: `Run ${trackedRunId} not found` } },
    });
    expect((await callApi(runKey, "GET", `/runs/${trackedRunId}`)).status).toBe(404);
    expect((await callApi(runKey, "POST", `/runs/${trackedRunId}/finish`, { status: "failed" })).status).toBe(404);
    expect((await callApi(runKey, "POST", "/runs", { runId: trackedRunId })).status).toBe(404);
    expect((await callApi(runKey, "POST", "/runs", { project: "Remote workers", experiment: "sneaky" })).status).toBe(
      403,
    );
    expect((await run(trackedRunId)).status).toBe("running");

    expect(
      (await callWorkerApi(keys.worker, `/runs/${commandRunId}/finish`, { attempt: 1, status: "succeeded" })).body,
    ).toEqual({ finished: true });
    const afterEnd = await callApi(runKey, "POST", `/runs/${commandRunId}/points`, {
      points: [{ key: "train/loss", step: 2, value: 0.4 }],
    });
    expect(afterEnd.status).toBe(401);
  });

  it("a remote worker started with --allow-commands runs a command run: its script logs with a key of its own, which dies with the run", {
    timeout: 60_000,
  }, async () => {
    const report = path.join(os.tmpdir(), `scaleboard-remote-command-${process.pid}-${Date.now()}.json`);
    const script = [
      "const e = process.env;",
      "fetch(e.SCALEBOARD_API_URL + '/runs/' + e.SCALEBOARD_RUN_ID + '/points', { method: 'POST', headers: { authorization: 'Bearer ' + e.SCALEBOARD_API_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ points: [{ key: 'sdk/loss', step: 1, value: 0.25 }] }) })",
      ".then((r) => require('fs').writeFileSync(e.REPORT, JSON.stringify({ keys: Object.keys(e).sort(), key: e.SCALEBOARD_API_KEY, status: r.status })));",
    ].join(" ");
    const runId = await apply(
      "remote-command-run",
      50,
      `runner: { kind: command, argv: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(script)}], env: { REPORT: ${JSON.stringify(report)} } }`,
    );
    const worker = remoteWorker("remote-commands", keys.worker, true);
    await worker.ready;
    try {
      await waitFor("the command run to finish", async () => FINISHED.includes((await run(runId)).status), {
        timeoutMs: 45_000,
        intervalMs: 250,
      });
      expect(await run(runId)).toMatchObject({ status: "succeeded", workerName: "remote-commands" });
      const seen = JSON.parse(await readFile(report, "utf8")) as { keys: string[]; key: string; status: number };
      expect(seen.status).toBe(200);
      expect(seen.keys).toEqual([
        "HOME",
        "LANG",
        "PATH",
        "REPORT",
        "SCALEBOARD_API_KEY",
        "SCALEBOARD_API_URL",
        "SCALEBOARD_CONFIG",
        "SCALEBOARD_RUN_ID",
      ]);
      expect(seen.key).not.toBe(keys.worker);
      expect(await countLoggedPoints(database.db, { runId, key: "sdk/loss" })).toBe(1);
      const late = await callApi(seen.key, "POST", `/runs/${runId}/points`, {
        points: [{ key: "sdk/loss", step: 2, value: 0.2 }],
      });
      expect(late.status).toBe(401);
      expect(
        await database.db.worker.findUniqueOrThrow({
          where: { teamId_name: { teamId, name: "remote-commands" } },
          select: { allowsCommands: true },
        }),
      ).toEqual({ allowsCommands: true });
    } finally {
      await rm(report, { force: true });
    }
  });
});
