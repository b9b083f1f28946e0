import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintApiKey, type SecurityServer, signUp, startServer, teamOf } from "./server.ts";

/**
 * MLflow 3's logged models (logged-models/*, runs/outputs, and the artifact proxy under a model's
 * artifact_uri) against a real server, sign-in on: no key 401, a worker key 403, another team's key
 * 404 exactly like a missing model (and nothing planted: no tag, no status, no file), bodies held to
 * the route's 1 MB, tags and params bounded a request and a model, keys and values bounded, and
 * model ids that could name another folder refused, all in MLflow's { error_code, message } shape.
 */

let server: SecurityServer;
let key: string;
let workerKey: string;
let otherKey: string;
let runId: string;
let experimentId: string;
let modelId: string;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const mlflow = (endpoint: string, init: RequestInit = {}) => fetch(`${server.url}/api/2.0/mlflow/${endpoint}`, init);
const send = (method: string, token: string | null, body: unknown): RequestInit => ({
  method,
  headers: { ...(token ? bearer(token) : {}), "content-type": "application/json" },
  body: JSON.stringify(body),
});
const artifact = (location: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts/${location}`, init);

async function expectError(response: Response, status: number, code: string): Promise<string> {
  const body = (await response.json()) as Record<string, unknown>;
  expect({ status: response.status, code: body.error_code }).toEqual({ status, code });
  expect(Object.keys(body).sort()).toEqual(["error_code", "message"]);
  return body.message as string;
}

type ModelAnswer = { model: { info: { model_id: string; status: string; tags: { key: string }[] } } };
const readModel = async () =>
  ((await (await mlflow(`logged-models/${modelId}`, { headers: bearer(key) })).json()) as ModelAnswer).model.info;

beforeAll(async () => {
  server = await startServer();
  const admin = await signUp(server, "mlflow-models-admin");
  const teamId = await teamOf(server, admin);
  key = await mintApiKey(server, admin, teamId, "ingest");
  workerKey = await mintApiKey(server, admin, teamId, "worker");
  const other = await signUp(server, "mlflow-models-other");
  otherKey = await mintApiKey(server, other, await teamOf(server, other), "full");
  experimentId = (
    (await (await mlflow("experiments/create", send("POST", key, { name: "Guarded/models" }))).json()) as {
      experiment_id: string;
    }
  ).experiment_id;
  runId = (
    (await (await mlflow("runs/create", send("POST", key, { experiment_id: experimentId }))).json()) as {
      run: { info: { run_id: string } };
    }
  ).run.info.run_id;
  const created = await mlflow(
    "logged-models",
    send("POST", key, { experiment_id: experimentId, name: "model", source_run_id: runId }),
  );
  expect(created.status).toBe(200);
  modelId = ((await created.json()) as ModelAnswer).model.info.model_id;
});

afterAll(async () => {
  await server?.stop();
});

describe("MLflow's logged models", () => {
  const writes = () =>
    [
      ["POST", "logged-models", { experiment_id: experimentId, name: "planted" }],
      ["PATCH", `logged-models/${modelId}`, { status: "LOGGED_MODEL_UPLOAD_FAILED" }],
      ["PATCH", `logged-models/${modelId}/tags`, { tags: [{ key: "planted", value: "1" }] }],
      ["POST", `logged-models/${modelId}/params`, { params: [{ key: "planted", value: "1" }] }],
      ["DELETE", `logged-models/${modelId}/tags/mlflow.user`, {}],
      ["DELETE", `logged-models/${modelId}`, {}],
      ["POST", "runs/outputs", { run_id: runId, models: [{ model_id: modelId, step: 0 }] }],
    ] as const;
  const location = () => `${experimentId}/models/${modelId}/artifacts/planted.txt`;

  it("answers no key 401, a worker key 403, another team's key 404 like a missing model, and plants nothing", async () => {
    for (const [method, endpoint, body] of writes()) {
      await expectError(await mlflow(endpoint, send(method, null, body)), 401, "UNAUTHENTICATED");
      await expectError(await mlflow(endpoint, send(method, workerKey, body)), 403, "PERMISSION_DENIED");
      await expectError(await mlflow(endpoint, send(method, otherKey, body)), 404, "RESOURCE_DOES_NOT_EXIST");
    }
    for (const endpoint of [`logged-models/${modelId}`]) {
      await expectError(await mlflow(endpoint), 401, "UNAUTHENTICATED");
      await expectError(await mlflow(endpoint, { headers: bearer(workerKey) }), 403, "PERMISSION_DENIED");
      const other = await expectError(
        await mlflow(endpoint, { headers: bearer(otherKey) }),
        404,
        "RESOURCE_DOES_NOT_EXIST",
      );
      const missing = await expectError(
        await mlflow(`logged-models/m-${"0".repeat(32)}`, { headers: bearer(key) }),
        404,
        "RESOURCE_DOES_NOT_EXIST",
      );
      expect(other.replace(modelId, "ID")).toBe(missing.replace(`m-${"0".repeat(32)}`, "ID"));
    }
    await expectError(
      await mlflow("logged-models/search", send("POST", otherKey, { experiment_ids: [experimentId] })),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );
    await expectError(
      await artifact(location(), { method: "PUT", headers: bearer(otherKey), body: "x" }),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );
    await expectError(
      await artifact(location(), { method: "PUT", headers: bearer(workerKey), body: "x" }),
      403,
      "PERMISSION_DENIED",
    );
    await expectError(await artifact(location(), { headers: bearer(key) }), 404, "RESOURCE_DOES_NOT_EXIST");
    // A model id that is not MLflow's form never reaches the file system.
    await expectError(
      await artifact(`${experimentId}/models/..%2F..%2Fetc/artifacts/x`, {
        method: "PUT",
        headers: bearer(key),
        body: "x",
      }),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );

    const info = await readModel();
    expect(info.status).toBe("LOGGED_MODEL_PENDING");
    expect(JSON.stringify(info)).not.toContain("planted");
  });

  it("holds bodies to 1 MB, bounds tags, params, keys and searches by naming the limit", async () => {
    const big = await mlflow(
      `logged-models/${modelId}/tags`,
      send("PATCH", key, { tags: [{ key: "big", value: "v".repeat(2 * 1024 * 1024) }] }),
    );
    expect(await expectError(big, 413, "RESOURCE_LIMIT_EXCEEDED")).toMatch(/at most 1 MB/);
    const entries = (count: number, prefix: string) =>
      Array.from({ length: count }, (_, index) => ({ key: `${prefix}${index}`, value: "1" }));
    expect(
      await expectError(
        await mlflow(`logged-models/${modelId}/tags`, send("PATCH", key, { tags: entries(101, "t") })),
        400,
        "INVALID_PARAMETER_VALUE",
      ),
    ).toMatch(/At most 100 tags/);
    expect(
      await expectError(
        await mlflow("logged-models", send("POST", key, { experiment_id: experimentId, params: entries(101, "p") })),
        400,
        "INVALID_PARAMETER_VALUE",
      ),
    ).toMatch(/At most 100 params/);
    // 100 a request, and 100 a model in all.
    expect(
      (await mlflow(`logged-models/${modelId}/params`, send("POST", key, { params: entries(100, "a") }))).status,
    ).toBe(200);
    expect(
      await expectError(
        await mlflow(`logged-models/${modelId}/params`, send("POST", key, { params: entries(1, "b") })),
        400,
        "INVALID_PARAMETER_VALUE",
      ),
    ).toMatch(/at most 100 params/);
    expect(
      await expectError(
        await mlflow(
          `logged-models/${modelId}/tags`,
          send("PATCH", key, { tags: [{ key: "k".repeat(251), value: "" }] }),
        ),
        400,
        "INVALID_PARAMETER_VALUE",
      ),
    ).toMatch(/1 to 250 characters/);
    expect(
      await expectError(
        await mlflow(
          "logged-models/search",
          send("POST", key, { experiment_ids: [experimentId], filter: "metrics.acc > 0.9" }),
        ),
        400,
        "INVALID_PARAMETER_VALUE",
      ),
    ).toMatch(/filter not supported/);
    await expectError(
      await mlflow("logged-models/search", send("POST", key, { experiment_ids: [experimentId], max_results: 100000 })),
      400,
      "INVALID_PARAMETER_VALUE",
    );
    await expectError(await mlflow("logged-models/search", send("POST", key, {})), 400, "INVALID_PARAMETER_VALUE");
    await expectError(
      await mlflow(`logged-models/${modelId}/tags`, send("PATCH", key, { tags: [{ key: "a\u0000b", value: "" }] })),
      400,
      "INVALID_PARAMETER_VALUE",
    );
    const info = await readModel();
    expect(info.tags.map((tag) => tag.key)).toEqual([]);
  });
});
