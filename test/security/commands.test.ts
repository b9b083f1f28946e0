import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";
import { findUser } from "../../worker/run-as.ts";
import { mintApiKey, ROOT, signUp, startServer, teamOf, trpc, type SecurityServer, type Session } from "./server.ts";

/**
 * Command runs are an operator's decision. A stranger signs up on a server started as `npm start`
 * starts it (sign-in on, one worker beside the web app) and applies a `runner: command` spec: the
 * plan says the runs will wait, and the server's own worker never runs them. A worker its operator
 * started with --allow-commands does, and the child, asked from inside, has only the minimal
 * environment and a key that writes only to its own run and dies with it.
 */

const WAIT_MESSAGE = "these runs will wait: no worker allows commands";
const WORKERS_OWN_KEY = "sb_workerXX_worker-own-key-must-never-reach-a-command";

let server: SecurityServer;
let owner: Session;
let teamId: string;
let scratch: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // npm start's worker, started exactly as an operator who did not allow commands starts it.
  server = await startServer({ workers: 1, env: { SCALEBOARD_ALLOW_COMMANDS: "" } });
  owner = await signUp(server, "commands-owner");
  teamId = await teamOf(server, owner);
  scratch = await mkdtemp(path.join(os.tmpdir(), "scaleboard-commands-"));
  // A --run-as child (nobody) writes its report here too.
  await chmod(scratch, 0o777);
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function allowingWorker(name: string, args: string[] = []): WorkerProcess {
  const worker = startWorker(server.databaseUrl, {
    name,
    slots: 1,
    allowCommands: true,
    args,
    // What an operator's shell might hold: none of it may reach a command.
    env: {
      SCALEBOARD_API_URL: `${server.url}/api/v1`,
      SCALEBOARD_API_KEY: WORKERS_OWN_KEY,
      BETTER_AUTH_SECRET: "worker-host-secret-that-commands-must-not-see-0123456789",
      AWS_SECRET_ACCESS_KEY: "canary",
    },
  });
  workers.push(worker);
  onTestFailed(() =>
    console.error(`--- worker ${name} ---\n${worker.output()}\n--- server ---\n${server.output().slice(-5000)}`),
  );
  return worker;
}

function commandSpec(experiment: string, runner: string): string {
  return `project: Commands
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 256 }
model: { family: mlp, width: 4, depth: 1 }
training: { optimizer: { kind: adam, lr: 0.01 }, batchSize: 32, budget: { steps: 20 }, logEvery: 10 }
resources: { backend: wasm }
runner: ${runner}
`;
}

type PlanOutput = { commands: { runs: number; workersAllowingCommands: number; waiting: string | null } | null };

async function plan(source: string): Promise<PlanOutput> {
  const planned = await trpc<PlanOutput>(server, owner, "spec.plan", { teamId, source, fileName: "commands.yaml" });
  if (!planned.data) throw new Error(`spec.plan: ${planned.raw}`);
  return planned.data;
}

async function apply(source: string): Promise<string> {
  const applied = await trpc<{ created: string[] }>(
    server,
    owner,
    "spec.applySpec",
    { teamId, source, fileName: "commands.yaml" },
    "mutation",
  );
  if (!applied.data) throw new Error(`spec.applySpec: ${applied.raw}`);
  return applied.data.created[0]!;
}

async function runStatus(runId: string): Promise<{ status: string; attempt: number; error: string | null }> {
  const answer = await trpc<{ status: string; attempt: number; error: string | null }>(server, owner, "run.get", {
    runId,
  });
  if (!answer.data) throw new Error(`run.get: ${answer.raw}`);
  return answer.data;
}

const FINISHED = ["succeeded", "failed", "canceled", "diverged"];

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/scaleboard.js", ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("command runs", () => {
  let commandRunId = "";
  let otherRunId = "";
  const marker = () => path.join(scratch, "ran");
  const report = () => path.join(scratch, "environment.json");

  it("a stranger's command spec: the plan says the runs will wait, and npm start's worker never runs it", {
    timeout: 120_000,
  }, async () => {
    // Another run of the same team, logged over HTTP: the command's key must not reach it.
    const ingestKey = await mintApiKey(server, owner, teamId, "ingest");
    const tracked = await fetch(`${server.url}/api/v1/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${ingestKey}`, "content-type": "application/json" },
      body: JSON.stringify({ project: "Commands", experiment: "tracked" }),
    });
    expect(tracked.status).toBe(201);
    otherRunId = ((await tracked.json()) as { runId: string }).runId;

    // The child reports what it can see and do, from inside.
    const script = [
      "const fs = require('fs'); const e = process.env;",
      "fs.writeFileSync(e.MARKER, 'ran');",
      "const post = (run) => fetch(e.SCALEBOARD_API_URL + '/runs/' + run + '/points', { method: 'POST', headers: { authorization: 'Bearer ' + e.SCALEBOARD_API_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ points: [{ key: 'child/probe', step: 1, value: 1 }] }) }).then((r) => r.status);",
      "(async () => { const own = await post(e.SCALEBOARD_RUN_ID); const other = await post(e.OTHER_RUN);",
      "fs.writeFileSync(e.REPORT, JSON.stringify({ keys: Object.keys(e).sort(), uid: process.getuid(), key: e.SCALEBOARD_API_KEY, own, other })); })();",
    ].join(" ");
    const source = commandSpec(
      "environment",
      `{ kind: command, argv: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(script)}], env: { MARKER: ${JSON.stringify(marker())}, REPORT: ${JSON.stringify(report())}, OTHER_RUN: ${JSON.stringify(otherRunId)} } }`,
    );

    expect((await plan(source)).commands).toEqual({ runs: 1, workersAllowingCommands: 0, waiting: WAIT_MESSAGE });
    // The CLI's plan says it too, over HTTP with a key.
    const specFile = path.join(scratch, "commands.yaml");
    await writeFile(specFile, source);
    const fullKey = await mintApiKey(server, owner, teamId, "full");
    const planned = await cli(["plan", specFile, "--server", server.url], { SCALEBOARD_API_KEY: fullKey });
    expect(planned.stderr).toBe("");
    expect(planned.stdout).toContain(`1 command run(s): ${WAIT_MESSAGE}`);

    commandRunId = await apply(source);
    // npm start's worker is alive and taking runs: a built-in run queued after the command run is trained...
    const builtinRunId = await apply(commandSpec("builtin-after", "{ kind: builtin }"));
    await waitFor("the built-in run to finish", async () => FINISHED.includes((await runStatus(builtinRunId)).status), {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    expect((await runStatus(builtinRunId)).status).toBe("succeeded");
    // ...and several seconds later the command run was never taken.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await runStatus(commandRunId)).toMatchObject({ status: "queued", attempt: 0 });
    expect(existsSync(marker())).toBe(false);
    expect(server.output()).not.toContain(`run ${commandRunId}`);
  });

  it("a worker started with --allow-commands runs it with the minimal environment; its key writes only its own run and dies with it", {
    timeout: 120_000,
  }, async () => {
    expect(commandRunId, "the previous test queued the command run").not.toBe("");
    const worker = allowingWorker("allows-commands");
    await worker.ready;
    await waitFor("the command run to finish", async () => FINISHED.includes((await runStatus(commandRunId)).status), {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    expect(await runStatus(commandRunId)).toMatchObject({ status: "succeeded", error: null });
    expect(existsSync(marker())).toBe(true);

    const seen = JSON.parse(await readFile(report(), "utf8")) as {
      keys: string[];
      uid: number;
      key: string;
      own: number;
      other: number;
    };
    expect(seen.keys).toEqual([
      "HOME",
      "LANG",
      "MARKER",
      "OTHER_RUN",
      "PATH",
      "REPORT",
      "SCALEBOARD_API_KEY",
      "SCALEBOARD_API_URL",
      "SCALEBOARD_CONFIG",
      "SCALEBOARD_RUN_ID",
    ]);
    expect(seen.keys).not.toContain("DATABASE_URL");
    expect(seen.keys).not.toContain("BETTER_AUTH_SECRET");
    // Its own key, not the worker's.
    expect(seen.key).toMatch(/^sb_/);
    expect(seen.key).not.toBe(WORKERS_OWN_KEY);
    // From inside: its own run takes points, another run of the same team does not exist for it.
    expect({ own: seen.own, other: seen.other }).toEqual({ own: 200, other: 404 });
    // After the run ended the key is dead.
    const late = await fetch(`${server.url}/api/v1/runs/${commandRunId}/points`, {
      method: "POST",
      headers: { authorization: `Bearer ${seen.key}`, "content-type": "application/json" },
      body: JSON.stringify({ points: [{ key: "child/late", step: 2, value: 1 }] }),
    });
    expect(late.status).toBe(401);

    // The plan now sees a live worker that accepts command runs.
    const again = await plan(commandSpec("another", `{ kind: command, argv: ["true"] }`));
    expect(again.commands).toMatchObject({ runs: 1, waiting: null });
    expect(again.commands!.workersAllowingCommands).toBeGreaterThanOrEqual(1);
    // A root worker that allows commands without --run-as says what that means.
    if (process.getuid?.() === 0) expect(worker.output()).toContain("warning: runs as root and allows commands");
  });

  const nobody = findUser("nobody");
  const canDropPrivileges = process.getuid?.() === 0 && nobody !== null;
  it.skipIf(!canDropPrivileges)(
    `--run-as nobody: the child runs as nobody${canDropPrivileges ? "" : " (skipped: needs the tests to run as root and a user named nobody)"}`,
    { timeout: 120_000 },
    async () => {
      await Promise.all(workers.splice(0).map((worker) => worker.killAll()));
      const worker = allowingWorker("runs-as-nobody", ["--run-as", "nobody"]);
      await worker.ready;
      expect(worker.output()).toContain("runs commands as nobody");
      const uidReport = path.join(scratch, "uid.json");
      const script = `import json, os; open(${JSON.stringify(uidReport)}, "w").write(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "home": os.environ.get("HOME")}))`;
      const runId = await apply(
        commandSpec(
          "run-as",
          `{ kind: command, argv: ["python3", "-c", ${JSON.stringify(script)}], cwd: ${JSON.stringify(scratch)} }`,
        ),
      );
      await waitFor("the run-as run to finish", async () => FINISHED.includes((await runStatus(runId)).status), {
        timeoutMs: 90_000,
        intervalMs: 500,
      });
      expect(await runStatus(runId)).toMatchObject({ status: "succeeded" });
      const seen = JSON.parse(await readFile(uidReport, "utf8")) as { uid: number; gid: number; home: string };
      expect(seen).toEqual({ uid: nobody!.uid, gid: nobody!.gid, home: nobody!.home });
      expect(seen.uid).toBe(65534);
    },
  );
});
