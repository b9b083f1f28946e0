import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import type { CliResult } from "../helpers/run-cli.ts";

/**
 * The local CLI's dataset roots: in local single-user mode (sign-in off) the folder of the spec it plans
 * or applies is one, after SCALEBOARD_DATASETS_DIR and examples/; with sign-in on it is not. The CLI
 * runs from the spec's project folder, not the repository (its spec threads must still start).
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const scratch = realpathSync(mkdtempSync(path.join(tmpdir(), "scaleboard-cli-datasets-")));
const project = path.join(scratch, "project");
const LOCAL_CSV = path.join(project, "data", "local.csv");
let database: TestDatabase;

beforeAll(async () => {
  mkdirSync(path.join(project, "data"), { recursive: true });
  mkdirSync(path.join(scratch, "outside"));
  writeFileSync(LOCAL_CSV, "a,b,y\n1,2,3\n4,5,6\n");
  writeFileSync(path.join(scratch, "outside", "secret.csv"), "a,b,y\n7,8,9\n");
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

/** `scaleboard ARGS` run from the project folder (bin/scaleboard.js by its absolute path). */
function cli(auth: "on" | "off", ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/scaleboard.js"), ...args], {
      cwd: project,
      env: { ...process.env, DATABASE_URL: database.url, SCALEBOARD_AUTH: auth, SCALEBOARD_DATASETS_DIR: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function writeSpec(name: string, experiment: string, file: string): string {
  writeFileSync(
    path.join(project, name),
    `project: CLI datasets
experiment: ${experiment}
dataset: { kind: csv, path: ${JSON.stringify(file)}, features: [a, b], target: y }
model: { family: linear }
training: { optimizer: { kind: sgd, lr: 0.01 }, budget: { steps: 5 } }
`,
  );
  return name;
}

describe("the local CLI's spec folder as a dataset root", () => {
  it("with sign-in off, plans and applies a CSV beside the spec, storing its absolute path for the worker", async () => {
    const spec = writeSpec("local.yaml", "local", "data/local.csv");
    const planned = await cli("off", "plan", spec, "--json");
    expect(planned.code, planned.stderr).toBe(0);
    expect(JSON.parse(planned.stdout).create).toHaveLength(1);

    const applied = await cli("off", "apply", spec, "--yes");
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("Applied: 1 new run(s) queued");
    const run = await database.db.run.findFirstOrThrow({ where: { experiment: { name: "local" } } });
    expect((run.config as { dataset: { path: string } }).dataset.path).toBe(LOCAL_CSV);
  });

  it("with sign-in off, refuses paths outside every root, naming the rule and the spec's folder, and changes nothing", async () => {
    const before = await database.db.run.count();
    for (const [file, why] of [
      ["/etc/hosts", "/etc/hosts is not"],
      ["../outside/secret.csv", "../outside/secret.csv climbs out of them with .."],
      [path.join(scratch, "outside", "secret.csv"), `${path.join(scratch, "outside", "secret.csv")} is not`],
    ]) {
      const result = await cli("off", "apply", writeSpec("outside.yaml", "outside", file!), "--yes");
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`outside.yaml:3:`);
      expect(result.stderr).toContain(
        `dataset.path: dataset paths must be inside SCALEBOARD_DATASETS_DIR, examples/ or the spec's folder; ${why}`,
      );
      expect(result.stderr).toContain("nothing was changed");
    }
    expect(await database.db.run.count()).toBe(before);
  });

  it("with sign-in on, the spec's folder is no root: its CSV by absolute path is refused", async () => {
    const result = await cli("on", "plan", writeSpec("signed-in.yaml", "signed-in", LOCAL_CSV));
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(
      `dataset.path: dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples/; ${LOCAL_CSV} is not`,
    );
  });
});
