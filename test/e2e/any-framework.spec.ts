import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { eventFile, fileVersionEvent, simpleValue, summaryEvent } from "../fixtures/imports/tfevents-writer.ts";
import { applyOnE2eServer, failOnBrowserErrors, trpc } from "./support.ts";

/**
 * Runs trained anywhere compare like built-in ones: one logged by the README's Python snippet
 * (standard library only, over /api/v1 with an ingest key), one imported from TensorBoard event
 * files with `scaleboard import tensorboard`, one trained by the server's own worker, and one
 * `runner: command` script run by that worker (its operator, playwright.config.ts, allows commands),
 * side by side in the compare view with one train/loss line each.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const PROJECT = "Scaling laws";

failOnBrowserErrors();

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const hasPython = spawnSync("python3", ["--version"]).status === 0;

test("a run logged from Python, one imported from TensorBoard and a command run compare next to a built-in run", async ({
  page,
  request,
  baseURL,
}) => {
  expect(hasPython, "python3 must be installed: this test runs the README's Python snippet").toBe(true);
  test.setTimeout(180_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-any-framework-"));
  try {
    const teamId = (await trpc<{ id: string }>(request, baseURL!, "team.create", { name: "Any framework e2e" })).id;
    await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL! }]);
    const { key } = await trpc<{ key: string }>(request, baseURL!, "apiKey.create", {
      teamId,
      name: "python",
      scope: "ingest",
    });

    // 1. The README's Python snippet, as a user would run it.
    const python = await run("python3", ["examples/log_from_python.py"], {
      SCALEBOARD_API_URL: `${baseURL}/api/v1`,
      SCALEBOARD_API_KEY: key,
    });
    expect(python.stderr).toBe("");
    expect(python.code).toBe(0);
    const pythonRunId = /logged run (\S+)/.exec(python.stdout)?.[1];
    expect(pythonRunId, python.stdout).toBeTruthy();

    // 2. TensorBoard event files, read in TypeScript by the importer.
    const logdir = path.join(dir, "tb", "width=128");
    mkdirSync(logdir, { recursive: true });
    const events = [fileVersionEvent(1_700_000_000)];
    for (let step = 0; step <= 900; step += 100)
      events.push(
        summaryEvent(1_700_000_001 + step, step, simpleValue("train/loss", 1.8 * Math.exp(-step / 400) + 0.2)),
      );
    writeFileSync(path.join(logdir, "events.out.tfevents.1700000000.host.1.0"), eventFile(...events));
    const { url } = JSON.parse(readFileSync(path.join(process.env.E2E_DATA_DIR!, "postgres.json"), "utf8")) as {
      url: string;
    };
    const imported = await run(
      process.execPath,
      [
        "bin/scaleboard.js",
        "import",
        "tensorboard",
        path.join(dir, "tb"),
        "--project",
        PROJECT,
        "--experiment",
        "tensorboard",
        "--team",
        teamId,
        "--json",
      ],
      {
        DATABASE_URL: url,
      },
    );
    expect(imported.stderr).toBe("");
    expect(imported.code).toBe(0);
    const importedRunId = (JSON.parse(imported.stdout) as { runs: { runId: string }[] }).runs[0]!.runId;

    // 3. A built-in run, trained by the server's worker.
    const spec = path.join(dir, "builtin.yaml");
    writeFileSync(
      spec,
      `project: ${PROJECT}
experiment: builtin
dataset: { kind: teacher, inputs: 8, samples: 512 }
model: { family: mlp, width: 16 }
training: { optimizer: { lr: 0.01 }, budget: { steps: 100 }, logEvery: 10 }
`,
    );
    const applied = await applyOnE2eServer(spec, teamId);
    expect(applied.stderr).toBe("");
    const project = (
      await trpc<{ items: { id: string; name: string }[] }>(request, baseURL!, "project.list", { teamId })
    ).items.find((item) => item.name === PROJECT)!;
    const experiments = await trpc<{ id: string; name: string }[]>(request, baseURL!, "experiment.list", {
      projectId: project.id,
    });
    const builtinExperiment = experiments.find((item) => item.name === "builtin")!;
    let builtinRunId = "";
    await expect(async () => {
      const runs = await trpc<{ items: { id: string; status: string }[] }>(request, baseURL!, "run.list", {
        experimentId: builtinExperiment.id,
      });
      expect(runs.items.map((item) => item.status)).toEqual(["succeeded"]);
      builtinRunId = runs.items[0]!.id;
    }).toPass({ timeout: 90_000 });

    // 4. A command run: the shipped pure-Python trainer, run by the same worker.
    const commandSpec = path.join(dir, "command.yaml");
    writeFileSync(
      commandSpec,
      `project: ${PROJECT}
experiment: command
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 256 }
model: { family: mlp, width: 8, activation: tanh }
training: { optimizer: { kind: sgd, lr: 0.05 }, batchSize: 16, budget: { steps: 100 }, logEvery: 10 }
runner: { kind: command, argv: ["python3", "scripts/train_tiny.py", "--width", "{{model.width}}", "--steps", "{{training.budget.steps}}"] }
`,
    );
    const appliedCommand = await applyOnE2eServer(commandSpec, teamId);
    expect(appliedCommand.stderr).toBe("");
    expect(appliedCommand.stdout).not.toContain("no worker allows commands");
    const commandExperiment = (
      await trpc<{ id: string; name: string }[]>(request, baseURL!, "experiment.list", { projectId: project.id })
    ).find((item) => item.name === "command")!;
    let commandRunId = "";
    await expect(async () => {
      const runs = await trpc<{ items: { id: string; status: string }[] }>(request, baseURL!, "run.list", {
        experimentId: commandExperiment.id,
      });
      expect(runs.items.map((item) => item.status)).toEqual(["succeeded"]);
      commandRunId = runs.items[0]!.id;
    }).toPass({ timeout: 90_000 });

    // All four in one compare view, each with its train/loss line.
    const ids = [pythonRunId!, importedRunId, builtinRunId, commandRunId];
    await page.goto(`/compare?runs=${ids.join(",")}&metric=${encodeURIComponent("train/loss")}`);
    await expect(page.getByTestId("compare-run")).toHaveCount(4);
    for (const name of ["width=256 seed=0", "width=128"])
      await expect(page.getByTestId("compare-runs")).toContainText(name);
    const curves = page.getByTestId("curves-panel");
    await expect(curves.getByTestId("curves-metric")).toHaveValue("train/loss");
    await expect(curves.locator("canvas")).toHaveAttribute("data-series", "4", { timeout: 30_000 });
    await expect(curves.getByTestId("curves-legend").getByRole("button")).toHaveCount(4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
