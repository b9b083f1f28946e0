import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mintApiKey, type SecurityServer, signUp, startServer, teamOf } from "./server.ts";

/**
 * GET /api/v1/sdk/python (issue #17): the Python client served by the real product (next start, sign-in on).
 * Public on purpose, GET only, one fixed archive: no path reaches another file, no key is needed or
 * honoured, the rest of /api/v1 still demands a key, and pip installs it with no package index.
 */

let server: SecurityServer;
let apiKey: string;
let venvDir: string;

beforeAll(async () => {
  server = await startServer();
  const admin = await signUp(server, "python-sdk");
  apiKey = await mintApiKey(server, admin, await teamOf(server, admin), "ingest");
  venvDir = await mkdtemp(path.join(os.tmpdir(), "scaleboard-sdk-venv-"));
}, 240_000);
afterAll(async () => {
  await server?.stop();
  if (venvDir) await rm(venvDir, { recursive: true, force: true });
});

/** The member names of a ustar archive. */
function tarNames(archive: Buffer): string[] {
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= archive.length; ) {
    const header = archive.subarray(offset, offset + 512);
    const name = header.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    if (!name) break;
    const size = Number.parseInt(header.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim(), 8);
    names.push(name);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

function run(command: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ status: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, cwd: venvDir });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (status) => resolve({ status, output }));
  });
}

describe("GET /api/v1/sdk/python", () => {
  let fileUrl = "";

  test("redirects to the current version's archive without a key, and serves it as an attachment", async () => {
    const redirect = await fetch(`${server.url}/api/v1/sdk/python`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get("location") ?? "";
    expect(location).toMatch(/^\/api\/v1\/sdk\/python\/scaleboard-\d+\.\d+\.\d+\.tar\.gz$/);
    fileUrl = `${server.url}${location}`;
    const archive = await fetch(fileUrl);
    expect(archive.status).toBe(200);
    expect(archive.headers.get("content-type")).toBe("application/gzip");
    expect(archive.headers.get("content-disposition")).toMatch(/^attachment; filename="scaleboard-[\d.]+\.tar\.gz"$/);
    expect(archive.headers.get("x-content-type-options")).toBe("nosniff");
    const names = tarNames(gunzipSync(Buffer.from(await archive.arrayBuffer())));
    const prefix = location
      .split("/")
      .pop()!
      .replace(/\.tar\.gz$/, "");
    // The package and its build backend only: no tests, no caches, nothing from outside clients/python.
    for (const name of names) expect(name).toMatch(new RegExp(`^${prefix.replaceAll(".", "\\.")}/`));
    const inside = names.map((name) => name.slice(prefix.length + 1));
    expect(inside).toEqual(expect.arrayContaining(["PKG-INFO", "pyproject.toml", "_build/scaleboard_build.py"]));
    expect(
      inside.filter(
        (name) => !/^(PKG-INFO|pyproject\.toml|README\.md|_build\/[\w]+\.py|scaleboard\/[\w]+\.py)$/.test(name),
      ),
    ).toEqual([]);
    const again = await fetch(fileUrl, { headers: { "if-none-match": archive.headers.get("etag") ?? "" } });
    expect(again.status).toBe(304);
  });

  test("answers 404 for any other file name, a traversal included, and never serves another file", async () => {
    for (const name of ["scaleboard-0.0.0.tar.gz", "..%2F..%2F.env", "..%2Fpython-sdk.ts", "%2Fetc%2Fpasswd", "x"]) {
      const response = await fetch(`${server.url}/api/v1/sdk/python/${name}`);
      expect(response.status, name).toBe(404);
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/this server has scaleboard-[\d.]+\.tar\.gz/);
    }
    // Deeper paths are not this route's: the API's catch-all answers them as no such endpoint.
    const deeper = await fetch(`${server.url}/api/v1/sdk/python/a/b`);
    expect(deeper.status).toBe(404);
    expect(((await deeper.json()) as { error: { message: string } }).error.message).toMatch(/^No such endpoint/);
  });

  test("is GET only: writes are refused without reaching any handler's logic", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      for (const url of [`${server.url}/api/v1/sdk/python`, fileUrl]) {
        const response = await fetch(url, { method, body: method === "DELETE" ? undefined : "x" });
        expect(response.status, `${method} ${url}`).toBe(405);
      }
    }
  });

  test("opens nothing else of /api/v1: reads still need a key", async () => {
    expect((await fetch(`${server.url}/api/v1/runs`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/v1/experiments`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/v1/sdk`)).status).toBe(404);
  });

  test("pip installs the served archive with no package index, and the installed client logs a run", async () => {
    const created = await run("python3", ["-m", "venv", path.join(venvDir, "venv")]);
    expect(created.status, created.output).toBe(0);
    const python = path.join(venvDir, "venv", "bin", "python");
    const installed = await run(python, ["-m", "pip", "install", "--no-index", `${server.url}/api/v1/sdk/python`]);
    expect(installed.status, installed.output).toBe(0);
    const script = [
      "import scaleboard",
      "with scaleboard.init(project='SDK', experiment='served', system_metrics=False) as run:",
      "    run.log({'loss': float('nan')}, step=0)",
      "    run.log({'loss': 0.5}, step=1)",
      "print(run.id, scaleboard.Api().run(run.id)['status'])",
    ].join("\n");
    const logged = await run(python, ["-c", script], { SCALEBOARD_API_URL: server.url, SCALEBOARD_API_KEY: apiKey });
    expect(logged.status, logged.output).toBe(0);
    expect(logged.output.trim()).toMatch(/^\S+ succeeded$/);
  }, 240_000);
});
