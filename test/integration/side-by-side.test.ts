import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { handleMlflow } from "../../server/http/mlflow.ts";
import { handleV1 } from "../../server/http/v1.ts";
import { callerFor, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startHandlerServer } from "../helpers/v1-server.ts";

/**
 * Issue #17's "done when": three scripts log into one project's experiment, each the way its users
 * already write it (examples/side-by-side/): a PyTorch loop with three added scaleboard lines, a W&B
 * script whose only change is `import scaleboard as wandb`, and an MLflow-instrumented script given
 * only MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN. mlflow itself cannot be installed here, so the
 * MLflow script runs against test/python/mlflow_standin, which sends the requests mlflow's client sends
 * (test/python/mlflow_sequences.py checks each answer against service.proto). Then the runs are read
 * as the compare page and the scaling view read them: one series query returns all three runs'
 * points, and the scaling view and analysis list each run.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const EXAMPLES = path.join(ROOT, "examples/side-by-side");
/** Debian's python3 has python3-torch (.ci/run installs it); another python3 on PATH may not. */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const HAS_TORCH = spawnSync(PYTHON, ["-c", "import torch"]).status === 0;
const MINUTES = 60_000;

let database: TestDatabase;
let server: { origin: string; close: () => Promise<void> };
let adminId: string;
let key: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const db = database.db;
  server = await startHandlerServer((request, url) => {
    const parts = (prefix: string) =>
      url.pathname.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
    return url.pathname.startsWith("/api/2.0/mlflow/")
      ? handleMlflow(db, request, parts("/api/2.0/mlflow/"))
      : handleV1(db, request, parts("/api/v1"));
  });
  const admin = await createUser(db);
  adminId = admin.id;
  const team = await createTeamWith(db, { [admin.id]: "admin" });
  key = (await createApiKey(db, team.id, admin.id, { name: "scripts", scope: "ingest" })).key;
});

afterAll(async () => {
  await server?.close();
  await database?.drop();
});

function python(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Only what each script's users set: no SCALEBOARD_* for the MLflow script, no MLFLOW_* for the others.
    const { PATH = "", HOME = "" } = process.env;
    const childEnv: NodeJS.ProcessEnv = {
      NODE_ENV: "test",
      PATH,
      HOME,
      PYTHONDONTWRITEBYTECODE: "1",
      SCALEBOARD_SYSTEM_METRICS: "0",
      ...env,
    };
    const child = spawn(PYTHON, [path.join(EXAMPLES, script), ...args], { cwd: ROOT, env: childEnv });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("three clients side by side", { timeout: 5 * MINUTES }, () => {
  it("PyTorch with three lines, a W&B script and an MLflow script land in one experiment, in one compare query and the scaling view", async () => {
    if (!HAS_TORCH)
      console.warn(
        `side-by-side: ${PYTHON} has no torch (apt-get install python3-torch); the PyTorch script is skipped`,
      );
    const scaleboardEnv = {
      PYTHONPATH: path.join(ROOT, "clients/python"),
      SCALEBOARD_API_URL: server.origin,
      SCALEBOARD_API_KEY: key,
    };
    const mlflowEnv = {
      PYTHONPATH: path.join(ROOT, "test/python/mlflow_standin"),
      MLFLOW_TRACKING_URI: server.origin,
      MLFLOW_TRACKING_TOKEN: key,
    };
    const results = await Promise.all([
      HAS_TORCH ? python("pytorch_scaleboard.py", ["--width", "16"], scaleboardEnv) : null,
      python("wandb_script.py", ["--width", "32"], scaleboardEnv),
      python("mlflow_script.py", ["--width", "64"], mlflowEnv),
    ]);
    for (const result of results) if (result) expect(result.code, result.output).toBe(0);

    const db = database.db;
    const experiment = await db.experiment.findFirstOrThrow({
      where: { name: "widths", project: { name: "Side by side" } },
      select: { id: true, projectId: true, runs: { select: { id: true, name: true, status: true, paramCount: true } } },
    });
    const expected = [...(HAS_TORCH ? ["pytorch-width-16"] : []), "wandb-width-32", "mlflow-width-64"];
    expect(experiment.runs.map((run) => run.name).sort()).toEqual([...expected].sort());
    expect(experiment.runs.every((run) => run.status === "succeeded")).toBe(true);
    const runIds = experiment.runs.map((run) => run.id);
    const nameOf = new Map(experiment.runs.map((run) => [run.id, run.name]));
    // Sizes from each client's own way of saying it: model=model, run.summary["paramCount"], the param paramCount.
    expect(Object.fromEntries(experiment.runs.map((run) => [run.name, Number(run.paramCount)]))).toEqual({
      ...(HAS_TORCH ? { "pytorch-width-16": 16 * 3 + 1 } : {}),
      "wandb-width-32": 3 * 32 + 1,
      "mlflow-width-64": 3 * 64 + 1,
    });

    // All three log val_loss (Keras' and many scripts' name): the project says so once.
    const caller = callerFor(db, userActor(adminId));
    await caller.project.setMetric({ projectId: experiment.projectId, metric: { name: "val_loss", goal: "min" } });

    // Compare: the table's default metric is the project's, and one series query draws every run.
    const table = await caller.runsTable.list({ filter: { runIds } });
    expect(table.metric).toEqual({ name: "val_loss", goal: "min" });
    expect(table.rows.map((row) => [row.name, row.finalMetric !== null && row.finalMetric > 0])).toEqual(
      expect.arrayContaining(expected.map((name) => [name, true])),
    );
    const keys = await caller.metrics.keys({ runIds });
    expect(keys.keys.map((entry) => entry.key)).toEqual(expect.arrayContaining(["train_loss", "val_loss"]));
    const series = await caller.metrics.series({ runIds, key: table.metric.name });
    expect(series.series.map((entry) => nameOf.get(entry.runId)).sort()).toEqual([...expected].sort());
    for (const entry of series.series) {
      // Steps 0, 10, ..., 190 and the last, 199: 21 points each, as logged.
      expect(entry.xs, nameOf.get(entry.runId)).toEqual([...Array.from({ length: 20 }, (_, index) => index * 10), 199]);
      expect(entry.ys.every((value) => typeof value === "number" && value > 0)).toBe(true);
    }

    // The scaling view and the analysis, asked with no metric, fit val_loss and account for every run.
    const view = await caller.scaling.view({ experimentId: experiment.id, resamples: 0 });
    expect(view.metric).toBe("val_loss");
    expect([...view.runs.map((run) => run.name), ...view.skipped.map((run) => run.name)].sort()).toEqual(
      [...expected].sort(),
    );
    expect(view.skipped).toEqual([]);
    expect(view.runs.map((run) => run.x).sort((a, b) => a - b)).toEqual([...(HAS_TORCH ? [49] : []), 97, 193]);
    const analysis = await caller.scaling.analysis({ experimentId: experiment.id });
    expect(analysis.metric).toBe("val_loss");
    expect(analysis.runs.used + analysis.runs.excluded.length).toBe(expected.length);
    for (const excluded of analysis.runs.excluded) expect(excluded.reason).not.toBe("");
  });
});
