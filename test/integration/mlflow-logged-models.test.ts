import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { handleMlflow } from "../../server/http/mlflow.ts";
import { handleMlflowArtifacts } from "../../server/http/mlflow-artifacts.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startHandlerServer } from "../helpers/v1-server.ts";

/**
 * MLflow 3's logged models against real PostgreSQL: the requests `mlflow.pytorch.log_model(model,
 * name="model")` sends inside a run (mlflow/models/model.py Model.log with rest_store.py), in order:
 * runs/get (the run's params), POST logged-models, runs/outputs, runs/get + metrics/get-history +
 * runs/log-batch (the step's metrics tagged with the model), the model's files PUT under its
 * artifact_uri, and PATCH logged-models/{id} to READY; then what a user reads back: the model,
 * the search, the files, and another team's key finding nothing.
 */

let database: TestDatabase;
let server: { origin: string; close: () => Promise<void> };
let artifacts: string;
let key: string;
let otherKey: string;

beforeAll(async () => {
  database = await createTestDatabase();
  artifacts = await mkdtemp(path.join(os.tmpdir(), "scaleboard-logged-models-"));
  const db = database.db;
  const artifactPrefix = "/api/2.0/mlflow-artifacts/artifacts";
  server = await startHandlerServer((request, url) => {
    const segments = (prefix: string) =>
      url.pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
    return url.pathname.startsWith(artifactPrefix)
      ? handleMlflowArtifacts(db, request, segments(artifactPrefix), { root: artifacts })
      : handleMlflow(db, request, segments("/api/2.0/mlflow/"));
  });
  const admin = await createUser(db);
  const team = await createTeamWith(db, { [admin.id]: "admin" });
  key = (await createApiKey(db, team.id, admin.id, { name: "mlflow", scope: "ingest" })).key;
  const otherAdmin = await createUser(db);
  const other = await createTeamWith(db, { [otherAdmin.id]: "admin" });
  otherKey = (await createApiKey(db, other.id, otherAdmin.id, { name: "other", scope: "full" })).key;
});

afterAll(async () => {
  await server?.close();
  await database?.drop();
  if (artifacts) await rm(artifacts, { recursive: true, force: true });
});

type KeyValue = { key: string; value: string };
type ModelProto = {
  info: { model_id: string; status: string; name: string; tags: KeyValue[]; creation_timestamp_ms: number };
  data: { params: KeyValue[]; metrics: unknown[] };
};
/** The answer's fields this file reads; each answer has the ones its endpoint writes. */
type Body = {
  error_code: string;
  message: string;
  experiment_id: string;
  next_page_token?: string;
  run: { info: { run_id: string }; data: { params: KeyValue[] } };
  model: ModelProto;
  models: ModelProto[];
  metrics: { key: string; value: number; timestamp: number; step: number }[];
};
type Answer = { status: number; body: Body };
async function call(method: string, endpoint: string, body?: unknown, token = key): Promise<Answer> {
  const response = await fetch(`${server.origin}/api/2.0/mlflow/${endpoint}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}
const artifactUrl = (location: string) => `${server.origin}/api/2.0/mlflow-artifacts/artifacts/${location}`;
const put = (location: string, body: string | Uint8Array<ArrayBuffer>, token = key) =>
  fetch(artifactUrl(location), { method: "PUT", headers: { authorization: `Bearer ${token}` }, body });
const get = (location: string, token = key) =>
  fetch(artifactUrl(location), { headers: { authorization: `Bearer ${token}` } });

const MLMODEL = `artifact_path: model
flavors:
  pytorch:
    model_data: data
    pytorch_version: 2.5.1
mlflow_version: 3.1.0
model_id: MODEL_ID
`;

describe("MLflow 3 logged models", () => {
  it("answers log_model's request sequence inside a run, stores the model's files and finds it again", async () => {
    const experimentId = (await call("POST", "experiments/create", { name: "LoggedModels/demo" })).body.experiment_id;
    const run = (await call("POST", "runs/create", { experiment_id: experimentId, run_name: "train", tags: [] })).body
      .run;
    const runId = run.info.run_id;
    expect(
      (
        await call("POST", "runs/log-batch", {
          run_id: runId,
          params: [{ key: "lr", value: "0.01" }],
          metrics: [{ key: "loss", value: 0.5, timestamp: Date.now(), step: 0 }],
          tags: [],
        })
      ).status,
    ).toBe(200);

    // Model.log: the run's params become the model's.
    const params = (await call("GET", `runs/get?run_id=${runId}`)).body.run.data.params;
    const created = await call("POST", "logged-models", {
      experiment_id: experimentId,
      name: "model",
      source_run_id: runId,
      params,
      tags: [
        { key: "mlflow.user", value: "ada" },
        { key: "mlflow.source.name", value: "train.py" },
        { key: "mlflow.source.type", value: "LOCAL" },
      ],
    });
    expect(created.status).toBe(200);
    const info = created.body.model.info;
    const modelId = info.model_id;
    expect(modelId).toMatch(/^m-[0-9a-f]{32}$/);
    expect(info).toMatchObject({
      experiment_id: experimentId,
      name: "model",
      source_run_id: runId,
      status: "LOGGED_MODEL_PENDING",
      artifact_uri: `mlflow-artifacts:/${experimentId}/models/${modelId}/artifacts`,
    });
    expect(typeof info.creation_timestamp_ms).toBe("number");
    expect(created.body.model.data).toEqual({ params: [{ key: "lr", value: "0.01" }], metrics: [] });

    expect(
      (await call("POST", "runs/outputs", { run_id: runId, models: [{ model_id: modelId, step: 0 }] })).status,
    ).toBe(200);
    // log_model_metrics_for_step: the step's metrics again, each naming the model.
    const history = (await call("GET", `metrics/get-history?run_id=${runId}&metric_key=loss`)).body.metrics;
    expect(history).toHaveLength(1);
    const relogged = await call("POST", "runs/log-batch", {
      run_id: runId,
      metrics: history.map((metric) => ({ ...metric, run_id: runId, model_id: modelId })),
    });
    expect(relogged.status).toBe(200);

    // log_model_artifacts: the files, under the model's artifact_uri.
    const base = `${experimentId}/models/${modelId}/artifacts`;
    const weights = new Uint8Array(4096).map((_, index) => index % 251);
    expect((await put(`${base}/MLmodel`, MLMODEL.replace("MODEL_ID", modelId))).status).toBe(200);
    expect((await put(`${base}/data/model.pth`, weights)).status).toBe(200);
    expect((await put(`${base}/requirements.txt`, "torch==2.5.1\n")).status).toBe(200);

    const finalized = await call("PATCH", `logged-models/${modelId}`, {
      model_id: modelId,
      status: "LOGGED_MODEL_READY",
    });
    expect(finalized.status).toBe(200);
    expect(finalized.body.model.info.status).toBe("LOGGED_MODEL_READY");

    const got = await call("GET", `logged-models/${modelId}`);
    expect(got.status).toBe(200);
    expect(got.body.model.info).toMatchObject({ model_id: modelId, status: "LOGGED_MODEL_READY", name: "model" });
    expect(Object.fromEntries(got.body.model.info.tags.map((tag) => [tag.key, tag.value]))).toEqual({
      "mlflow.user": "ada",
      "mlflow.source.name": "train.py",
      "mlflow.source.type": "LOCAL",
    });

    const search = await call("POST", "logged-models/search", { experiment_ids: [experimentId], max_results: 10 });
    expect(search.status).toBe(200);
    expect(search.body.models.map((model) => model.info.model_id)).toEqual([modelId]);
    expect(search.body.next_page_token).toBeUndefined();

    // The files come back as uploaded, listed by the proxy's ?path= listing.
    const listing = (await (await get(`?path=${base}`)).json()) as { files: { path: string; is_dir: boolean }[] };
    expect(listing.files.map((file) => [file.path, file.is_dir])).toEqual([
      ["MLmodel", false],
      ["data", true],
      ["requirements.txt", false],
    ]);
    const downloaded = await get(`${base}/data/model.pth`);
    expect(downloaded.status).toBe(200);
    expect(new Uint8Array(await downloaded.arrayBuffer())).toEqual(weights);
    expect(await (await get(`${base}/MLmodel`)).text()).toContain(`model_id: ${modelId}`);
    // The run's files and the model's are apart: the run's folder has none of them.
    expect((await (await get(`?path=${experimentId}/${runId}/artifacts`)).json()) as object).toEqual({ files: [] });

    // Tags and params after the fact, and a delete refused as runs/delete is.
    expect(
      (await call("PATCH", `logged-models/${modelId}/tags`, { tags: [{ key: "stage", value: "candidate" }] })).status,
    ).toBe(200);
    expect(
      (
        await call("POST", `logged-models/${modelId}/params`, {
          model_id: modelId,
          params: [{ key: "epochs", value: "3" }],
        })
      ).status,
    ).toBe(200);
    expect((await call("DELETE", `logged-models/${modelId}/tags/mlflow.source.type`)).status).toBe(200);
    const changed = (await call("GET", `logged-models/${modelId}`)).body.model;
    expect(changed.info.tags.map((tag) => tag.key).sort()).toEqual(["mlflow.source.name", "mlflow.user", "stage"]);
    expect(changed.data.params).toEqual([
      { key: "lr", value: "0.01" },
      { key: "epochs", value: "3" },
    ]);
    const deleted = await call("DELETE", `logged-models/${modelId}`);
    expect({ status: deleted.status, code: deleted.body.error_code }).toEqual({ status: 501, code: "NOT_IMPLEMENTED" });
    expect((await call("GET", `logged-models/${modelId}`)).status).toBe(200);

    // Another team's key: the model, its files and the experiment's search are missing, and nothing is planted.
    for (const answer of [
      await call("GET", `logged-models/${modelId}`, undefined, otherKey),
      await call("PATCH", `logged-models/${modelId}`, { status: "LOGGED_MODEL_UPLOAD_FAILED" }, otherKey),
      await call("PATCH", `logged-models/${modelId}/tags`, { tags: [{ key: "planted", value: "1" }] }, otherKey),
      await call("POST", "logged-models/search", { experiment_ids: [experimentId] }, otherKey),
      await call("POST", "runs/outputs", { run_id: runId, models: [{ model_id: modelId }] }, otherKey),
    ])
      expect({ status: answer.status, code: answer.body.error_code }).toEqual({
        status: 404,
        code: "RESOURCE_DOES_NOT_EXIST",
      });
    expect((await get(`${base}/MLmodel`, otherKey)).status).toBe(404);
    expect((await put(`${base}/planted.txt`, "x", otherKey)).status).toBe(404);
    const after = (await call("GET", `logged-models/${modelId}`)).body.model.info;
    expect(after.status).toBe("LOGGED_MODEL_READY");
    expect(after.tags.some((tag) => tag.key === "planted")).toBe(false);

    // Unknown model or run for runs/outputs: 404.
    const unknownModel = await call("POST", "runs/outputs", {
      run_id: runId,
      models: [{ model_id: `m-${"0".repeat(32)}`, step: 0 }],
    });
    expect(unknownModel.status).toBe(404);
    expect((await call("POST", "runs/outputs", { run_id: "nope", models: [{ model_id: modelId }] })).status).toBe(404);

    // On disk: the team's folder holds the run's folder (if any) and the model's, by its id.
    const teams = await readdir(artifacts);
    const modelFolders = (await Promise.all(teams.map((team) => readdir(path.join(artifacts, team)).catch(() => []))))
      .flat()
      .filter((name) => name === modelId);
    expect(modelFolders).toEqual([modelId]);
  });

  it("pages a search newest first and refuses what it does not answer by name", async () => {
    const experimentId = (await call("POST", "experiments/create", { name: "LoggedModels/paging" })).body.experiment_id;
    const ids: string[] = [];
    for (let index = 0; index < 3; index++)
      ids.push(
        (await call("POST", "logged-models", { experiment_id: experimentId, name: `m${index}` })).body.model.info
          .model_id,
      );
    const first = await call("POST", "logged-models/search", { experiment_ids: [experimentId], max_results: 2 });
    const second = await call("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      max_results: 2,
      page_token: first.body.next_page_token,
    });
    const seen = [...first.body.models, ...second.body.models].map((model) => model.info.model_id);
    expect(seen.sort()).toEqual([...ids].sort());
    expect(second.body.next_page_token).toBeUndefined();
    const filtered = await call("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      filter: "name = 'm1'",
    });
    expect(filtered.status).toBe(400);
    expect(filtered.body.message).toContain("filter");
    const ordered = await call("POST", "logged-models/search", {
      experiment_ids: [experimentId],
      order_by: [{ field_name: "creation_time" }],
    });
    expect(ordered.status).toBe(400);
    expect(ordered.body.message).toContain("order_by");
    expect((await call("POST", "logged-models/search", {})).status).toBe(400);
    expect(
      (await call("POST", "logged-models/search", { experiment_ids: [experimentId], max_results: 1001 })).status,
    ).toBe(400);
  });
});
