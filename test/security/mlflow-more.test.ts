import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintApiKey, type SecurityServer, signUp, startServer, teamOf } from "./server.ts";

/**
 * The MLflow endpoints added beyond the tracking core (runs/log-inputs, runs/delete, runs/restore,
 * experiments/set-experiment-tag, experiments/update, metrics/get-history-bulk-interval) against a
 * real server, sign-in on: no key 401, a worker key 403, another team's key 404 exactly like a missing
 * run or experiment (and nothing planted), bodies held to the route's 1 MB, work bounded, and
 * unstorable text refused, all in MLflow's { error_code, message } shape.
 */

let server: SecurityServer;
let key: string;
let workerKey: string;
let otherKey: string;
let runId: string;
let experimentId: string;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const mlflow = (endpoint: string, init: RequestInit = {}) => fetch(`${server.url}/api/2.0/mlflow/${endpoint}`, init);
const post = (token: string | null, body: unknown): RequestInit => ({
  method: "POST",
  headers: { ...(token ? bearer(token) : {}), "content-type": "application/json" },
  body: JSON.stringify(body),
});

async function expectError(response: Response, status: number, code: string): Promise<string> {
  const body = (await response.json()) as Record<string, unknown>;
  expect({ status: response.status, code: body.error_code }).toEqual({ status, code });
  expect(Object.keys(body).sort()).toEqual(["error_code", "message"]);
  return body.message as string;
}

beforeAll(async () => {
  server = await startServer();
  const admin = await signUp(server, "mlflow-more-admin");
  const teamId = await teamOf(server, admin);
  key = await mintApiKey(server, admin, teamId, "ingest");
  workerKey = await mintApiKey(server, admin, teamId, "worker");
  const other = await signUp(server, "mlflow-more-other");
  otherKey = await mintApiKey(server, other, await teamOf(server, other), "full");
  experimentId = (
    (await (await mlflow("experiments/create", post(key, { name: "Guarded/mlflow" }))).json()) as {
      experiment_id: string;
    }
  ).experiment_id;
  const created = (await (await mlflow("runs/create", post(key, { experiment_id: experimentId }))).json()) as {
    run: { info: { run_id: string } };
  };
  runId = created.run.info.run_id;
});

afterAll(async () => {
  await server?.stop();
});

describe("MLflow's added endpoints", () => {
  const dataset = { name: "planted", digest: "1", source_type: "code", source: "{}" };
  const writes = () =>
    [
      ["runs/log-inputs", { run_id: runId, datasets: [{ dataset }] }],
      ["runs/delete", { run_id: runId }],
      ["runs/restore", { run_id: runId }],
      ["experiments/set-experiment-tag", { experiment_id: experimentId, key: "mlflow.note.content", value: "planted" }],
      ["experiments/update", { experiment_id: experimentId, new_name: "Guarded/planted" }],
    ] as const;
  const bulk = () => `metrics/get-history-bulk-interval?run_ids=${runId}&metric_key=loss`;

  it("answers no key or a bad key 401, a worker key 403, another team's key 404, and plants nothing", async () => {
    for (const [endpoint, body] of writes()) {
      await expectError(await mlflow(endpoint, post(null, body)), 401, "UNAUTHENTICATED");
      await expectError(await mlflow(endpoint, post("sb_nope", body)), 401, "UNAUTHENTICATED");
      await expectError(await mlflow(endpoint, post(workerKey, body)), 403, "PERMISSION_DENIED");
      await expectError(await mlflow(endpoint, post(otherKey, body)), 404, "RESOURCE_DOES_NOT_EXIST");
    }
    await expectError(await mlflow(bulk()), 401, "UNAUTHENTICATED");
    await expectError(await mlflow(bulk(), { headers: bearer(workerKey) }), 403, "PERMISSION_DENIED");
    await expectError(await mlflow(bulk(), { headers: bearer(otherKey) }), 404, "RESOURCE_DOES_NOT_EXIST");
    // Another team's run answers exactly like a missing one.
    const missing = await expectError(
      await mlflow("runs/restore", post(key, { run_id: "cmissingrun0000000000000" })),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );
    expect(missing).toBe("Run with id=cmissingrun0000000000000 not found");
    expect(
      await expectError(
        await mlflow("runs/restore", post(otherKey, { run_id: runId })),
        404,
        "RESOURCE_DOES_NOT_EXIST",
      ),
    ).toBe(`Run with id=${runId} not found`);

    const run = await (await mlflow(`runs/get?run_id=${runId}`, { headers: bearer(key) })).json();
    const experiment = await (
      await mlflow(`experiments/get?experiment_id=${experimentId}`, { headers: bearer(key) })
    ).json();
    expect(JSON.stringify([run, experiment])).not.toContain("planted");
  });

  it("holds bodies to 1 MB (413), bounds the work a request asks for, and refuses unstorable text", async () => {
    const big = await mlflow(
      "runs/log-inputs",
      post(key, { run_id: runId, datasets: [{ dataset: { ...dataset, schema: "s".repeat(2 * 1024 * 1024) } }] }),
    );
    expect(await expectError(big, 413, "RESOURCE_LIMIT_EXCEEDED")).toMatch(/at most 1 MB/);
    const many = Array.from({ length: 101 }, (_, index) => `run_ids=r${index}`).join("&");
    expect(
      await expectError(
        await mlflow(`metrics/get-history-bulk-interval?${many}&metric_key=loss`, { headers: bearer(key) }),
        400,
        "INVALID_PARAMETER_VALUE",
      ),
    ).toMatch(/at most 100 runs/);
    await expectError(
      await mlflow(`${bulk()}&max_results=1000000`, { headers: bearer(key) }),
      400,
      "INVALID_PARAMETER_VALUE",
    );
    await expectError(
      await mlflow(
        "runs/log-inputs",
        post(key, { run_id: runId, datasets: [{ dataset: { ...dataset, name: "a\u0000b" } }] }),
      ),
      400,
      "INVALID_PARAMETER_VALUE",
    );
    const tooMany = Array.from({ length: 51 }, (_, index) => ({ dataset: { ...dataset, digest: `${index}` } }));
    await expectError(
      await mlflow("runs/log-inputs", post(key, { run_id: runId, datasets: tooMany })),
      400,
      "INVALID_PARAMETER_VALUE",
    );
  });
});
