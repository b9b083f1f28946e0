import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../server/db.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import type { ArtifactLimits } from "../../server/domain/artifacts/artifact-store.ts";
import { handleMlflow } from "../../server/http/mlflow.ts";
import { handleMlflowArtifacts } from "../../server/http/mlflow-artifacts.ts";
import { callerFor, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startHandlerServer } from "../helpers/v1-server.ts";

/**
 * The MLflow tracking API against real PostgreSQL: test/python/mlflow_sequences.py replays what the
 * mlflow client sends for set_experiment, start_run, log_params, log_metric(s), set_tags,
 * log_artifact and end_run and checks each answer against service.proto's shapes; the runs it
 * creates are then read back through tRPC's compare (scaling.compare), as the compare page does.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
let database: TestDatabase;
let server: { url: string; close: () => Promise<void> };
let artifacts: string;
let adminId: string;
let key: string;
let otherKey: string;
let limits: ArtifactLimits | undefined;

/** The two handlers behind a plain node:http server, as the Next.js routes call them. */
async function startMlflowServer(db: Db): Promise<{ url: string; close: () => Promise<void> }> {
  const artifactPrefix = "/api/2.0/mlflow-artifacts/artifacts";
  const server = await startHandlerServer((request, url) => {
    const segments = (prefix: string) =>
      url.pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
    return url.pathname.startsWith(artifactPrefix)
      ? handleMlflowArtifacts(db, request, segments(artifactPrefix), { root: artifacts, ...(limits ? { limits } : {}) })
      : handleMlflow(db, request, segments("/api/2.0/mlflow/"));
  });
  return { url: server.origin, close: server.close };
}

function python(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", args, { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
  artifacts = await mkdtemp(path.join(os.tmpdir(), "scaleboard-mlflow-artifacts-"));
  server = await startMlflowServer(database.db);
  const admin = await createUser(database.db);
  adminId = admin.id;
  const team = await createTeamWith(database.db, { [admin.id]: "admin" });
  key = (await createApiKey(database.db, team.id, admin.id, { name: "mlflow", scope: "ingest" })).key;
  const otherAdmin = await createUser(database.db);
  const other = await createTeamWith(database.db, { [otherAdmin.id]: "admin" });
  otherKey = (await createApiKey(database.db, other.id, otherAdmin.id, { name: "other", scope: "full" })).key;
});

afterAll(async () => {
  await server?.close();
  await database?.drop();
  if (artifacts) await rm(artifacts, { recursive: true, force: true });
});

async function call(method: string, endpoint: string, body?: unknown, token = key) {
  const response = await fetch(`${server.url}/api/2.0/mlflow/${endpoint}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("/api/2.0/mlflow", () => {
  it("answers the mlflow client's request sequences with service.proto's shapes, and its runs appear in compare", async () => {
    const replay = await python([
      "test/python/mlflow_sequences.py",
      "--url",
      server.url,
      "--token",
      key,
      "--other-token",
      otherKey,
    ]);
    expect(replay.stderr).toBe("");
    expect(replay.code).toBe(0);
    const result = JSON.parse(replay.stdout.trim().split("\n").at(-1)!) as { experimentId: string; runIds: string[] };
    expect(result.runIds).toHaveLength(2);

    const compare = await callerFor(database.db, userActor(adminId)).scaling.compare({
      runIds: result.runIds,
      metric: "val/loss",
      resamples: 0,
    });
    const byName = new Map(compare.runs.map((run) => [run.name, run]));
    expect([...byName.keys()].sort()).toEqual(["mlflow-width-128", "mlflow-width-64"]);
    // Params arrive as config with numbers parsed; paramCount is the run's N; the final val/loss is the y.
    expect(byName.get("mlflow-width-64")).toMatchObject({
      paramCount: 1_000_000,
      params: { lr: 0.001, width: 64, optimizer: "adam", seed: 0 },
    });
    expect(byName.get("mlflow-width-128")?.loss).toBeCloseTo(3 / Math.sqrt(2500) / 2, 10);
    expect(compare.skipped).toEqual([]);

    const run = await database.db.run.findUniqueOrThrow({
      where: { id: result.runIds[1]! },
      select: { status: true, finishedAt: true, startedAt: true, wallClockSeconds: true, notes: true, tags: true },
    });
    expect(run.status).toBe("succeeded");
    expect(run.notes).toBe("from replay");
    expect(run.tags).toEqual(expect.arrayContaining(["team:replay", "stage:replay"]));
    expect(run.finishedAt!.getTime()).toBeGreaterThanOrEqual(run.startedAt!.getTime());
    expect(run.wallClockSeconds).not.toBeNull();
    // The artifact is a file under the team's and run's folder.
    const team = await database.db.apiKey.findFirstOrThrow({
      where: { createdById: adminId },
      select: { teamId: true },
    });
    expect(await readFile(path.join(artifacts, team.teamId, result.runIds[0]!, "texts", "notes.txt"), "utf8")).toBe(
      "width 64\n",
    );
    // The killed run in the default experiment ("0") is MLflow/Default.
    const killed = await database.db.run.findFirstOrThrow({
      where: { name: "mlflow-default-experiment" },
      select: { status: true, experiment: { select: { name: true, project: { select: { name: true } } } } },
    });
    expect(killed).toEqual({ status: "canceled", experiment: { name: "Default", project: { name: "MLflow" } } });
  }, 120_000);

  it("maps experiment names: Project/Experiment, a bare name into the MLflow project, and back", async () => {
    const created = await call("POST", "experiments/create", { name: "Vision/resnet-sweep" });
    expect(created.status).toBe(200);
    const experiment = await database.db.experiment.findUniqueOrThrow({
      where: { id: created.body.experiment_id as string },
      select: { name: true, project: { select: { name: true } } },
    });
    expect(experiment).toEqual({ name: "resnet-sweep", project: { name: "Vision" } });
    const bare = await call("POST", "experiments/create", { name: "bare-name" });
    const got = await call("GET", `experiments/get?experiment_id=${bare.body.experiment_id}`);
    expect((got.body.experiment as { name: string }).name).toBe("bare-name");
    const found = await call("GET", "experiments/get-by-name?experiment_name=Vision%2Fresnet-sweep");
    expect((found.body.experiment as { experiment_id: string }).experiment_id).toBe(created.body.experiment_id);
  });

  it("returns each metric point's logged time (ms) in get-history and runs/get, as the mlflow client sent it", async () => {
    const run = await call("POST", "runs/create", { experiment_id: "0", run_name: "timestamps" });
    const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
    // Times a script logged an hour ago, a second apart (ms, as mlflow's client sends them); one step past a chunk edge.
    const start = Date.now() - 3_600_000;
    const sent = [0, 1, 2, 1500].map((step, index) => ({
      key: "loss",
      value: 1 / (step + 1),
      timestamp: start + index * 1000,
      step,
    }));
    expect((await call("POST", "runs/log-metric", { run_id: runId, ...sent[0] })).status).toBe(200);
    expect((await call("POST", "runs/log-batch", { run_id: runId, metrics: sent.slice(1) })).status).toBe(200);

    const history = await call("GET", `metrics/get-history?run_id=${runId}&metric_key=loss`);
    expect(history.status).toBe(200);
    expect(
      (history.body.metrics as { step: number; timestamp: number }[]).map(({ step, timestamp }) => ({
        step,
        timestamp,
      })),
    ).toEqual(sent.map(({ step, timestamp }) => ({ step, timestamp })));
    const got = await call("GET", `runs/get?run_id=${runId}`);
    const latest = (got.body.run as { data: { metrics: { key: string; step: number; timestamp: number }[] } }).data
      .metrics;
    expect(latest).toEqual([{ key: "loss", value: 1 / 1501, step: 1500, timestamp: sent[3]!.timestamp }]);
  });

  it("refuses bad input with MLflow's error shape and a message naming the field", async () => {
    const run = await call("POST", "runs/create", { experiment_id: "0" });
    const runId = (run.body.run as { info: { run_id: string } }).info.run_id;
    const bad = await call("POST", "runs/log-metric", { run_id: runId, key: "loss", value: "high", step: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(bad.body.message).toMatch(/value/);
    const notJson = await fetch(`${server.url}/api/2.0/mlflow/runs/log-batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: "{not json",
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error_code: string }).error_code).toBe("MALFORMED_REQUEST");
    const status = await call("POST", "runs/update", { run_id: runId, status: "DONE" });
    expect(status.status).toBe(400);
    expect(status.body.message).toMatch(/status/);
  });

  it("holds uploads through the proxy to the team's artifact limit: 413 naming it, nothing kept", async () => {
    const run = await call("POST", "runs/create", { experiment_id: "0", run_name: "quota" });
    const info = (run.body.run as { info: { run_id: string; experiment_id: string } }).info;
    const base = `${server.url}/api/2.0/mlflow-artifacts/artifacts/${info.experiment_id}/${info.run_id}/artifacts`;
    const put = (name: string, bytes: number) =>
      fetch(`${base}/${name}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${key}` },
        body: new Uint8Array(bytes),
      });
    limits = { fileBytes: 1024, teamBytes: 4096 };
    try {
      expect((await put("big.bin", 1025)).status).toBe(413);
      const tooBig = await put("big.bin", 2048);
      expect(tooBig.status).toBe(413);
      expect(((await tooBig.json()) as { message: string }).message).toMatch(/1 KB/);
      // Streamed (no Content-Length): cut off once it passes the limit.
      const streamed = await fetch(`${base}/streamed.bin`, {
        method: "PUT",
        headers: { authorization: `Bearer ${key}` },
        body: new ReadableStream({
          start(controller) {
            for (let index = 0; index < 4; index++) controller.enqueue(new Uint8Array(600));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      expect(streamed.status).toBe(413);
      const stored = [];
      for (let index = 0; index < 8; index++) stored.push((await put(`part-${index}.bin`, 1000)).status);
      // 4 KB: four 1,000-byte files fit (with earlier tests' artifacts of this team), the rest are refused.
      expect(stored.filter((status) => status === 200).length).toBeLessThanOrEqual(4);
      const refused = await put("part-9.bin", 1000);
      expect(refused.status).toBe(413);
      expect(((await refused.json()) as { message: string }).message).toMatch(/4 KB/);
      const listed = await fetch(
        `${server.url}/api/2.0/mlflow-artifacts/artifacts?path=${info.experiment_id}/${info.run_id}/artifacts`,
        { headers: { authorization: `Bearer ${key}` } },
      );
      const files = ((await listed.json()) as { files?: { path: string }[] }).files ?? [];
      expect(files.map((file) => file.path)).not.toContain("big.bin");
      expect(files.map((file) => file.path)).not.toContain("streamed.bin");
      expect(files.map((file) => file.path)).not.toContain("part-9.bin");
    } finally {
      limits = undefined;
    }
  });
});
