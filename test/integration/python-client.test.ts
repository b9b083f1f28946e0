import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { createRunKey } from "../../server/domain/api-key/create-run-key.ts";
import { createTrackedRun } from "../../server/domain/tracking/track-run.ts";
import { redirectToPythonSdist, SDK_PATH, servePythonSdist } from "../../server/http/python-sdk.ts";
import { handleV1 } from "../../server/http/v1.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * The Python package's own unittest suite (clients/python/tests) against the product's HTTP API and its
 * SDK download route, served from this process by the same handlers the Next.js routes call.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const PACKAGE_DIR = path.join(ROOT, "clients/python");

let database: TestDatabase;
let server: http.Server;
let apiUrl: string;
let key: string;
let spoolDir: string;
const commandRun: { id: string; key: string } = { id: "", key: "" };

async function route(request: Request): Promise<Response> {
  const pathname = new URL(request.url).pathname;
  if (pathname === SDK_PATH && request.method === "GET") return redirectToPythonSdist(request);
  if (pathname.startsWith(`${SDK_PATH}/`) && request.method === "GET")
    return servePythonSdist(request, decodeURIComponent(pathname.slice(SDK_PATH.length + 1)));
  const parts = pathname
    .replace(/^\/api\/v1\/?/, "")
    .split("/")
    .filter(Boolean)
    .map(decodeURIComponent);
  return handleV1(database.db, request, parts);
}

beforeAll(async () => {
  database = await createTestDatabase();
  const admin = await createUser(database.db);
  const team = await createTeamWith(database.db, { [admin.id]: "admin" });
  key = (await createApiKey(database.db, team.id, admin.id, { name: "python", scope: "ingest" })).key;
  // A command run as the worker sets one up: a run of the team and a key that reaches that run only.
  const run = await createTrackedRun(database.db, team.id, {
    project: "Command runs",
    experiment: "python",
    config: {},
    tags: [],
  });
  const runKey = await createRunKey(database.db, run.runId);
  commandRun.id = run.runId;
  commandRun.key = runKey!.key;
  spoolDir = await mkdtemp(path.join(os.tmpdir(), "scaleboard-python-spool-"));
  server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers))
        if (typeof value === "string") headers.set(name, value);
      const hasBody = incoming.method !== "GET" && incoming.method !== "HEAD";
      const request = new Request(new URL(incoming.url ?? "/", "http://127.0.0.1"), {
        method: incoming.method,
        headers,
        body: hasBody ? Buffer.concat(chunks) : undefined,
      });
      const response = await route(request);
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await rm(spoolDir, { recursive: true, force: true });
  await database?.drop();
});

/** `python3 -m unittest <module>` in clients/python/tests, asynchronously: the server answering it runs here. */
function unittest(module: string, python = "python3"): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(python, ["-m", "unittest", "-v", module], {
      cwd: path.join(PACKAGE_DIR, "tests"),
      env: {
        ...process.env,
        PYTHONPATH: PACKAGE_DIR,
        PYTHONDONTWRITEBYTECODE: "1",
        SCALEBOARD_API_URL: apiUrl,
        SCALEBOARD_API_KEY: key,
        SCALEBOARD_SPOOL_DIR: spoolDir,
        SCALEBOARD_TEST_COMMAND_RUN_ID: commandRun.id,
        SCALEBOARD_TEST_COMMAND_RUN_KEY: commandRun.key,
      },
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (status) => resolve({ status, output }));
  });
}

/** Every test of the module ran and passed: no skips (a skipped server test would prove nothing). */
async function expectPasses(module: string, tests: number, python?: string) {
  const result = await unittest(module, python);
  expect(result.output, result.output).toMatch(new RegExp(`Ran ${tests} tests? in`));
  expect(result.output).not.toMatch(/skipped/);
  expect(result.status, result.output).toBe(0);
}

/** Debian's python3 has python3-torch (.ci/run installs it); another python3 on PATH may not. */
const DEBIAN_PYTHON = "/usr/bin/python3";
const MINUTES = 60_000;

describe("the scaleboard Python package", { timeout: 5 * MINUTES }, () => {
  it("encodes values, splits requests and parses nvidia-smi without a server", async () => {
    await expectPasses("test_units", 12);
  });

  it("logs points once each with NaN and infinities, batches, summaries, statuses and system metrics", async () => {
    await expectPasses("test_logging", 7);
  });

  it("retries through throttling and an unreachable server, and spools what sync uploads exactly once", async () => {
    await expectPasses("test_resilience", 7);
  });

  it("runs a W&B script with only its import changed, and attaches to a command run", async () => {
    await expectPasses("test_wandb_and_attach", 2);
  });

  it("is installed by pip from the source folder and from the server's tarball, with no package index", async () => {
    await expectPasses("test_install", 2);
  });

  it("logs a PyTorch loop with three added lines: curves, paramCount and the scaling fit", async () => {
    await expectPasses("test_pytorch", 1, DEBIAN_PYTHON);
  });
});
