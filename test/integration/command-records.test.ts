import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { readRunPoints } from "../../server/domain/experiment/read-run-points.ts";
import type { RunStatus } from "../../server/generated/prisma/enums.ts";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type CliResult, runScaleboard } from "../helpers/run-cli.ts";
import { startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";

/**
 * A command run records what it prints the way the built-in trainer records what it logs: Python's
 * json.dumps literals (NaN, Infinity, -Infinity) and their quoted spellings are stored as those values,
 * a non-finite training loss ends the run `diverged` naming the step, and `runner.cwd` is the spec
 * file's folder, within the dataset roots' rule. Real worker processes (--allow-commands) run real
 * python3 scripts against a real PostgreSQL; the spec-folder case applies with the real CLI.
 */

const FINISHED: RunStatus[] = ["succeeded", "failed", "canceled", "diverged", "crashed"];
const hasPython = spawnSync("python3", ["--version"]).status === 0;
const scratch = realpathSync(mkdtempSync(path.join(tmpdir(), "scaleboard-command-records-")));
const project = path.join(scratch, "project");

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let teamId: string;
let editorId: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  mkdirSync(path.join(project, "nested"), { recursive: true });
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  editorId = (await createUser(database.db, "Cora")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "admin" })).id;
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
  await producer?.stop();
  await database?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A worker on the database that runs commands, as in local single-user mode (sign-in off). */
function commandWorker(name: string): WorkerProcess {
  const worker = startWorker(database.url, {
    name,
    slots: 1,
    allowCommands: true,
    env: { SCALEBOARD_AUTH: "off", SCALEBOARD_DATASETS_DIR: "" },
  });
  workers.push(worker);
  onTestFailed(() => console.error(`--- worker ${name} ---\n${worker.output()}`));
  return worker;
}

function commandSpec(experiment: string, runner: string): string {
  return `project: Command records
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 256 }
model: { family: mlp, width: 4, depth: 1 }
training: { optimizer: { kind: adam, lr: 0.01 }, batchSize: 32, budget: { steps: 20 }, logEvery: 10 }
runner: ${runner}
`;
}

/** Applied from the web editor's path: no spec folder. */
async function applyFromEditor(source: string): Promise<string> {
  const caller = createCaller(
    createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }),
  );
  const applied = await caller.spec.applySpec({ teamId, source, fileName: "command-records.yaml" });
  return applied.created[0]!;
}

async function finished(runId: string) {
  await waitFor(
    `run ${runId} to finish`,
    async () => (await database.db.run.count({ where: { id: runId, status: { in: FINISHED } } })) === 1,
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  return database.db.run.findUniqueOrThrow({
    where: { id: runId },
    select: { status: true, error: true, step: true, config: true },
  });
}

async function values(runId: string, key: string) {
  const read = await readRunPoints(database.db, runId, { key });
  return read.points.map((point) => [point.step, point.value]);
}

/** `scaleboard ARGS` run from the project folder, on the test database, sign-in off (local single-user). */
function cli(...args: string[]): Promise<CliResult> {
  const env = { DATABASE_URL: database.url, SCALEBOARD_AUTH: "off", SCALEBOARD_DATASETS_DIR: "" };
  return runScaleboard(args, env, project);
}

describe.skipIf(!hasPython)("a command run's stdout", () => {
  it("stores Python's NaN and infinities as written, and ends diverged at the first non-finite training loss", {
    timeout: 180_000,
  }, async () => {
    // json.dumps writes bare NaN/Infinity/-Infinity; the quoted spellings are what other tools write.
    // After the NaN the script would go on for ten minutes: the worker stops it, as the trainer stops.
    const script = [
      "import json, math, sys, time",
      'print(json.dumps({"step": 0, "train/loss": 1.5}))',
      'print(json.dumps({"step": 1, "train/loss": 0.5, "grad_norm": math.inf, "margin": -math.inf}))',
      'print(\'{"step": 1, "quoted/nan": "nan", "quoted/inf": "inf", "quoted/neg": "-Infinity", "label": "NaN is text here"}\')',
      'print(json.dumps({"step": 2, "train/loss": math.nan}))',
      "sys.stdout.flush()",
      "time.sleep(600)",
    ].join("\n");
    commandWorker("records-nan");
    const runId = await applyFromEditor(
      commandSpec("nan-loss", `{ kind: command, argv: ["python3", "-c", ${JSON.stringify(script)}] }`),
    );
    const run = await finished(runId);
    expect(run.status).toBe("diverged");
    expect(run.error).toBe("the training loss became NaN at step 2");
    expect(run.step).toBe(2);
    expect(await values(runId, "train/loss")).toEqual([
      [0, 1.5],
      [1, 0.5],
      [2, "NaN"],
    ]);
    expect(await values(runId, "grad_norm")).toEqual([[1, "Infinity"]]);
    expect(await values(runId, "margin")).toEqual([[1, "-Infinity"]]);
    expect(await values(runId, "quoted/nan")).toEqual([[1, "NaN"]]);
    expect(await values(runId, "quoted/inf")).toEqual([[1, "Infinity"]]);
    expect(await values(runId, "quoted/neg")).toEqual([[1, "-Infinity"]]);
    // A string that is not a number's spelling is not a metric.
    expect(await values(runId, "label")).toEqual([]);
  });

  it("a non-finite evaluation loss is stored but does not end the run: only the training loss decides", {
    timeout: 180_000,
  }, async () => {
    const script = [
      "import json, math",
      'print(json.dumps({"step": 0, "train/loss": 1.0, "val/loss": math.nan}))',
      'print(json.dumps({"step": 1, "train/loss": 0.9}))',
    ].join("\n");
    commandWorker("records-eval-nan");
    const runId = await applyFromEditor(
      commandSpec("nan-eval", `{ kind: command, argv: ["python3", "-c", ${JSON.stringify(script)}] }`),
    );
    const run = await finished(runId);
    expect(run.status).toBe("succeeded");
    expect(await values(runId, "val/loss")).toEqual([[0, "NaN"]]);
    expect(await values(runId, "train/loss")).toEqual([
      [0, 1],
      [1, 0.9],
    ]);
  });
});

describe.skipIf(!hasPython)("runner.cwd", () => {
  it("is the spec file's folder: the CLI applies `argv: [python3, hello.py]` beside the spec and the worker runs it there", {
    timeout: 300_000,
  }, async () => {
    writeFileSync(
      path.join(project, "hello.py"),
      'import json, os\nprint(json.dumps({"step": 0, "train/loss": 0.25}))\nprint("ran in", os.getcwd())\n',
    );
    writeFileSync(
      path.join(project, "hello.yaml"),
      commandSpec("hello-beside", "{ kind: command, argv: [python3, hello.py], cwd: . }"),
    );
    writeFileSync(
      path.join(project, "nested", "hello-default.yaml"),
      commandSpec("hello-default", "{ kind: command, argv: [python3, ../hello.py] }"),
    );
    const applied = await cli("apply", "hello.yaml", "--yes");
    expect(applied.code, applied.stderr).toBe(0);
    // An omitted cwd is the spec's folder too (here nested/, where ../hello.py is an argument, not a path Scaleboard resolves).
    const nested = await cli("apply", "nested/hello-default.yaml", "--yes");
    expect(nested.code, nested.stderr).toBe(0);

    const runs = await database.db.run.findMany({
      where: { experiment: { name: { in: ["hello-beside", "hello-default"] } } },
      select: { id: true, config: true, experiment: { select: { name: true } } },
    });
    const cwdOf = (name: string) =>
      (runs.find((run) => run.experiment.name === name)!.config as { runner: { cwd?: string } }).runner.cwd;
    // How the worker, elsewhere, learns the folder: the apply wrote it into the cell as an absolute path.
    expect(cwdOf("hello-beside")).toBe(project);
    expect(cwdOf("hello-default")).toBe(path.join(project, "nested"));

    commandWorker("records-cwd");
    for (const run of runs) {
      const ended = await finished(run.id);
      expect(ended.status, ended.error ?? "").toBe("succeeded");
      expect(await values(run.id, "train/loss")).toEqual([[0, 0.25]]);
    }
    const beside = runs.find((run) => run.experiment.name === "hello-beside")!;
    const log = await database.db.runLog.findMany({ where: { runId: beside.id }, select: { line: true } });
    expect(log.map((entry) => entry.line)).toContain(`ran in ${project}`);
  });

  it("refuses a folder that climbs out of the roots with a message naming runner.cwd and the rule, and queues nothing", {
    timeout: 180_000,
  }, async () => {
    writeFileSync(
      path.join(project, "escape.yaml"),
      commandSpec("escape", "{ kind: command, argv: [python3, hello.py], cwd: ../.. }"),
    );
    const before = await database.db.run.count();
    const refused = await cli("apply", "escape.yaml", "--yes");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toContain(
      "escape.yaml:6:58: runner.cwd: a command's folder must be inside SCALEBOARD_DATASETS_DIR, examples/ or the spec's folder; ../.. climbs out of them with ..",
    );
    // The web editor has no spec folder; the rule is the same.
    await expect(
      applyFromEditor(commandSpec("escape-editor", "{ kind: command, argv: [python3, hello.py], cwd: ../.. }")),
    ).rejects.toThrow(
      "runner.cwd: a command's folder must be inside SCALEBOARD_DATASETS_DIR or examples/; ../.. climbs out of them with ..",
    );
    expect(await database.db.run.count()).toBe(before);
  });

  it("a relative folder no root holds fails the run saying so, instead of starting the command somewhere else", {
    timeout: 180_000,
  }, async () => {
    commandWorker("records-missing-cwd");
    const runId = await applyFromEditor(
      commandSpec("missing-cwd", "{ kind: command, argv: [python3, hello.py], cwd: no-such-folder }"),
    );
    const run = await finished(runId);
    expect(run.status).toBe("failed");
    expect(run.error).toBe("runner.cwd: no folder no-such-folder in examples/");
  });
});
