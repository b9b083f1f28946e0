import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { handleMlflow } from "../../server/http/mlflow.ts";
import { callerFor, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startHandlerServer } from "../helpers/v1-server.ts";

/**
 * The MLflow endpoints beyond start_run/log/end_run that real clients call: runs/log-inputs
 * (mlflow.log_input, autolog's datasets), experiments/set-experiment-tag and experiments/update,
 * runs/delete and runs/restore, and metrics/get-history-bulk-interval (the MLflow UI's charts),
 * against real PostgreSQL through the same handler the Next.js route calls.
 */

let database: TestDatabase;
let server: { origin: string; close: () => Promise<void> };
let adminId: string;
let key: string;
let otherKey: string;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startHandlerServer((request, url) =>
    handleMlflow(
      database.db,
      request,
      url.pathname.slice("/api/2.0/mlflow/".length).split("/").filter(Boolean).map(decodeURIComponent),
    ),
  );
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
});

type Answer = { status: number; body: Record<string, unknown> };

async function call(method: string, endpoint: string, body?: unknown, token = key): Promise<Answer> {
  const response = await fetch(`${server.origin}/api/2.0/mlflow/${endpoint}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function createRun(experimentName: string): Promise<{ runId: string; experimentId: string }> {
  const found = await call("GET", `experiments/get-by-name?experiment_name=${encodeURIComponent(experimentName)}`);
  const experimentId =
    found.status === 200
      ? (found.body.experiment as { experiment_id: string }).experiment_id
      : ((await call("POST", "experiments/create", { name: experimentName })).body.experiment_id as string);
  const created = await call("POST", "runs/create", { experiment_id: experimentId, start_time: Date.now() });
  expect(created.status).toBe(200);
  return { runId: (created.body.run as { info: { run_id: string } }).info.run_id, experimentId };
}

const expectError = (answer: Answer, status: number, code: string, message?: RegExp) => {
  expect({ status: answer.status, code: answer.body.error_code }).toEqual({ status, code });
  expect(Object.keys(answer.body).sort()).toEqual(["error_code", "message"]);
  if (message) expect(answer.body.message).toMatch(message);
};

describe("runs/log-inputs", () => {
  it("keeps the run's datasets (schema bounded) in its config, shown on the run page, and returns them in runs/get", async () => {
    const { runId } = await createRun("Datasets/inputs");
    const schema = JSON.stringify({ mlflow_colspec: Array.from({ length: 800 }, (_, i) => ({ name: `c${i}` })) });
    const train = {
      tags: [{ key: "mlflow.data.context", value: "train" }],
      dataset: {
        name: "wine-quality",
        digest: "2a1e42c4",
        source_type: "http",
        source: '{"url": "https://example.org/winequality-red.csv"}',
        schema,
        profile: '{"num_rows": 1599}',
      },
    };
    const evaluation = {
      tags: [{ key: "mlflow.data.context", value: "eval" }],
      dataset: { name: "wine-quality-test", digest: "77ab01f0", source_type: "code", source: "{}" },
    };
    expect(await call("POST", "runs/log-inputs", { run_id: runId, datasets: [train, evaluation] })).toEqual({
      status: 200,
      body: {},
    });
    // Logged again (autolog does so each fit): one entry, not two.
    expect((await call("POST", "runs/log-inputs", { run_id: runId, datasets: [train] })).status).toBe(200);

    const run = (await call("GET", `runs/get?run_id=${runId}`)).body.run as {
      inputs: { dataset_inputs: { tags: { key: string; value: string }[]; dataset: Record<string, string> }[] };
    };
    expect(run.inputs.dataset_inputs.map((input) => [input.dataset.name, input.tags[0]?.value])).toEqual([
      ["wine-quality", "train"],
      ["wine-quality-test", "eval"],
    ]);
    const kept = run.inputs.dataset_inputs[0]!.dataset;
    expect(schema.length).toBeGreaterThan(2000);
    expect(kept.schema).toBe(`${schema.slice(0, 2000)}… (truncated from ${schema.length} characters)`);
    expect(kept.profile).toBe('{"num_rows": 1599}');

    // What the run page's "Resolved config" lists.
    const page = await callerFor(database.db, userActor(adminId)).run.get({ runId });
    const config = page.config as { datasets: { name: string; digest: string; tags: Record<string, string> }[] };
    expect(
      config.datasets.map((dataset) => `${dataset.name}@${dataset.digest}:${dataset.tags["mlflow.data.context"]}`),
    ).toEqual(["wine-quality@2a1e42c4:train", "wine-quality-test@77ab01f0:eval"]);
  });

  it("refuses too many datasets, a missing field and MLflow 3's model inputs, naming what is wrong", async () => {
    const { runId } = await createRun("Datasets/limits");
    const dataset = (index: number) => ({
      dataset: { name: `d${index}`, digest: `${index}`, source_type: "code", source: "{}" },
    });
    expectError(
      await call("POST", "runs/log-inputs", {
        run_id: runId,
        datasets: Array.from({ length: 51 }, (_, i) => dataset(i)),
      }),
      400,
      "INVALID_PARAMETER_VALUE",
      /at most 50/,
    );
    expectError(
      await call("POST", "runs/log-inputs", {
        run_id: runId,
        datasets: [{ dataset: { name: "x", digest: "", source_type: "code", source: "{}" } }],
      }),
      400,
      "INVALID_PARAMETER_VALUE",
      /datasets\.0\.dataset\.digest/,
    );
    expectError(
      await call("POST", "runs/log-inputs", { run_id: runId, models: [{ model_id: "m-1" }] }),
      400,
      "INVALID_PARAMETER_VALUE",
      /models.*logged models/,
    );
    expectError(
      await call("POST", "runs/log-inputs", { datasets: [dataset(1)] }),
      400,
      "INVALID_PARAMETER_VALUE",
      /run_id/,
    );
    const run = (await call("GET", `runs/get?run_id=${runId}`)).body.run as { inputs: object };
    expect(run.inputs).toEqual({});
  });
});

describe("experiments/set-experiment-tag and experiments/update", () => {
  it("sets the description from mlflow.note.content and refuses other tags by name", async () => {
    const { experimentId } = await createRun("Tags/notes");
    const set = await call("POST", "experiments/set-experiment-tag", {
      experiment_id: experimentId,
      key: "mlflow.note.content",
      value: "Sweeps the learning rate.",
    });
    expect(set).toEqual({ status: 200, body: {} });
    const experiment = (await call("GET", `experiments/get?experiment_id=${experimentId}`)).body.experiment as {
      tags: { key: string; value: string }[];
    };
    expect(experiment.tags).toEqual([{ key: "mlflow.note.content", value: "Sweeps the learning rate." }]);
    expectError(
      await call("POST", "experiments/set-experiment-tag", { experiment_id: experimentId, key: "team", value: "x" }),
      400,
      "INVALID_PARAMETER_VALUE",
      /'team' cannot be stored/,
    );
  });

  it("renames an experiment within its project and refuses a move to another project or a taken name", async () => {
    const { experimentId } = await createRun("Rename/before");
    await createRun("Rename/taken");
    expect(await call("POST", "experiments/update", { experiment_id: experimentId, new_name: "Rename/after" })).toEqual(
      {
        status: 200,
        body: {},
      },
    );
    const renamed = await call("GET", "experiments/get-by-name?experiment_name=Rename%2Fafter");
    expect((renamed.body.experiment as { experiment_id: string }).experiment_id).toBe(experimentId);
    expectError(
      await call("GET", "experiments/get-by-name?experiment_name=Rename%2Fbefore"),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );
    // A bare name stays in the experiment's project.
    expect((await call("POST", "experiments/update", { experiment_id: experimentId, new_name: "bare" })).status).toBe(
      200,
    );
    expect((await call("GET", "experiments/get-by-name?experiment_name=Rename%2Fbare")).status).toBe(200);
    expectError(
      await call("POST", "experiments/update", { experiment_id: experimentId, new_name: "Elsewhere/moved" }),
      400,
      "INVALID_PARAMETER_VALUE",
      /within their project only/,
    );
    expectError(
      await call("POST", "experiments/update", { experiment_id: experimentId, new_name: "Rename/taken" }),
      400,
      "RESOURCE_ALREADY_EXISTS",
    );
  });
});

describe("runs/delete and runs/restore", () => {
  it("refuses deletion with NOT_IMPLEMENTED (Scaleboard keeps every run), restores as a no-change, and 404s a missing run", async () => {
    const { runId } = await createRun("Lifecycle/runs");
    expectError(await call("POST", "runs/delete", { run_id: runId }), 501, "NOT_IMPLEMENTED", /keeps every run/);
    const run = await call("GET", `runs/get?run_id=${runId}`);
    expect((run.body.run as { info: { lifecycle_stage: string } }).info.lifecycle_stage).toBe("active");
    expect(await call("POST", "runs/restore", { run_id: runId })).toEqual({ status: 200, body: {} });
    expectError(
      await call("POST", "runs/delete", { run_id: "cmissing000000000000000" }),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );
    expectError(
      await call("POST", "runs/restore", { run_id: "cmissing000000000000000" }),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );
  });
});

describe("metrics/get-history-bulk-interval", () => {
  it("answers each run's points within max_results, keeping a spike, the ends and the logged times", async () => {
    const { runId: long } = await createRun("Bulk/history");
    const { runId: short } = await createRun("Bulk/history");
    const start = 1_700_000_000_000;
    for (let batch = 0; batch < 10; batch++) {
      const metrics = Array.from({ length: 1000 }, (_, i) => {
        const step = batch * 1000 + i;
        return { key: "loss", value: step === 6543 ? 50 : 1 / (step + 1), timestamp: start + step, step };
      });
      expect((await call("POST", "runs/log-batch", { run_id: long, metrics })).status).toBe(200);
    }
    const shortMetrics = Array.from({ length: 30 }, (_, step) => ({
      key: "loss",
      value: step,
      timestamp: start + step * 10,
      step,
    }));
    expect((await call("POST", "runs/log-batch", { run_id: short, metrics: shortMetrics })).status).toBe(200);

    const answer = await call(
      "GET",
      `metrics/get-history-bulk-interval?run_ids=${long}&run_ids=${short}&metric_key=loss&max_results=100`,
    );
    expect(answer.status).toBe(200);
    const metrics = answer.body.metrics as {
      key: string;
      value: number;
      timestamp: number;
      step: number;
      run_id: string;
    }[];
    const ofLong = metrics.filter((metric) => metric.run_id === long);
    const ofShort = metrics.filter((metric) => metric.run_id === short);
    expect(ofLong.length).toBeLessThanOrEqual(100);
    expect(ofLong.length).toBeGreaterThan(50);
    expect(ofLong[0]).toEqual({ key: "loss", value: 1, timestamp: start, step: 0, run_id: long });
    expect(ofLong.at(-1)?.step).toBe(9999);
    expect(ofLong.find((metric) => metric.step === 6543)).toEqual({
      key: "loss",
      value: 50,
      timestamp: start + 6543,
      step: 6543,
      run_id: long,
    });
    expect(ofShort).toEqual(shortMetrics.map((metric) => ({ ...metric, run_id: short })));

    const window = await call(
      "GET",
      `metrics/get-history-bulk-interval?run_ids=${short}&metric_key=loss&start_step=10&end_step=14`,
    );
    expect((window.body.metrics as { step: number }[]).map((metric) => metric.step)).toEqual([10, 11, 12, 13, 14]);
  });

  it("refuses over-large or inverted requests and answers another team's run 404", async () => {
    const { runId } = await createRun("Bulk/limits");
    const bulk = (query: string, token = key) =>
      call("GET", `metrics/get-history-bulk-interval?${query}`, undefined, token);
    expectError(
      await bulk(`run_ids=${runId}&metric_key=loss&max_results=2501`),
      400,
      "INVALID_PARAMETER_VALUE",
      /max_results/,
    );
    expectError(
      await bulk(`run_ids=${runId}&metric_key=loss&start_step=5&end_step=4`),
      400,
      "INVALID_PARAMETER_VALUE",
      /end_step/,
    );
    const many = Array.from({ length: 101 }, (_, i) => `run_ids=r${i}`).join("&");
    expectError(await bulk(`${many}&metric_key=loss`), 400, "INVALID_PARAMETER_VALUE", /at most 100 runs/);
    expectError(await bulk(`run_ids=${runId}`), 400, "INVALID_PARAMETER_VALUE", /metric_key/);
    expectError(await bulk(`run_ids=${runId}&metric_key=loss`, otherKey), 404, "RESOURCE_DOES_NOT_EXIST");
    expect(await bulk(`run_ids=${runId}&metric_key=loss`)).toEqual({ status: 200, body: { metrics: [] } });
  });

  it("answers another team's key 404 on every new endpoint and changes nothing", async () => {
    const { runId, experimentId } = await createRun("Cross/team");
    for (const [endpoint, body] of [
      ["runs/log-inputs", { run_id: runId, datasets: [{ dataset: { name: "x", digest: "1", source_type: "code" } }] }],
      ["runs/delete", { run_id: runId }],
      ["runs/restore", { run_id: runId }],
      ["experiments/set-experiment-tag", { experiment_id: experimentId, key: "mlflow.note.content", value: "planted" }],
      ["experiments/update", { experiment_id: experimentId, new_name: "Cross/planted" }],
    ] as const)
      expectError(await call("POST", endpoint, body, otherKey), 404, "RESOURCE_DOES_NOT_EXIST");
    const experiment = await call("GET", `experiments/get?experiment_id=${experimentId}`);
    expect(JSON.stringify(experiment.body)).not.toContain("planted");
    const run = await call("GET", `runs/get?run_id=${runId}`);
    expect((run.body.run as { inputs: object }).inputs).toEqual({});
  });
});

describe("view types", () => {
  it("finds no runs or experiments for DELETED_ONLY (none are ever deleted) and all of them for ALL", async () => {
    const { runId, experimentId } = await createRun("Views/runs");
    const search = (view: unknown) =>
      call("POST", "runs/search", { experiment_ids: [experimentId], run_view_type: view });
    expect((await search("DELETED_ONLY")).body).toEqual({ runs: [] });
    for (const view of ["ALL", "ACTIVE_ONLY", 3])
      expect(((await search(view)).body.runs as { info: { run_id: string } }[]).map((run) => run.info.run_id)).toEqual([
        runId,
      ]);
    expectError(await search("SOMETIMES"), 400, "INVALID_PARAMETER_VALUE", /run_view_type/);
    expect((await call("GET", "experiments/search?view_type=DELETED_ONLY")).body).toEqual({ experiments: [] });
    const all = await call("GET", "experiments/search?view_type=ALL&max_results=1000");
    expect((all.body.experiments as { experiment_id: string }[]).map((item) => item.experiment_id)).toContain(
      experimentId,
    );
  });
});
