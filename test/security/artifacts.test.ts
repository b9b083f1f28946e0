import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintApiKey, ROOT, signUp, startServer, teamOf, type SecurityServer, type Session } from "./server.ts";

/**
 * Run artifacts and the MLflow endpoints against a real server (sign-in on): uploads land under
 * SCALEBOARD_ARTIFACT_DIR, downloads are attachments no browser renders, paths cannot leave the run's
 * folder, sizes are limited (413 naming the limit), and another team's run answers 404 exactly like a
 * missing one, in /api/v1's shape and in MLflow's.
 */

let server: SecurityServer;
let artifactDir: string;
let admin: Session;
let teamId: string;
let key: string;
let workerKey: string;
let otherKey: string;
let runId: string;
let experimentId: string;

beforeAll(async () => {
  artifactDir = await mkdtemp(path.join(os.tmpdir(), "scaleboard-security-artifacts-"));
  server = await startServer({ env: { SCALEBOARD_ARTIFACT_DIR: artifactDir } });
  admin = await signUp(server, "artifacts-admin");
  teamId = await teamOf(server, admin);
  key = await mintApiKey(server, admin, teamId, "ingest");
  workerKey = await mintApiKey(server, admin, teamId, "worker");
  const other = await signUp(server, "artifacts-other");
  otherKey = await mintApiKey(server, other, await teamOf(server, other), "full");
  const created = await fetch(`${server.url}/api/v1/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ project: "Artifacts", experiment: "files", config: {} }),
  });
  const body = (await created.json()) as { runId: string; experimentId: string };
  runId = body.runId;
  experimentId = body.experimentId;
});

afterAll(async () => {
  await server?.stop();
  if (artifactDir) await rm(artifactDir, { recursive: true, force: true });
});

const artifactsUrl = (suffix = "", run = runId) => `${server.url}/api/v1/runs/${run}/artifacts${suffix}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A request sent with its path exactly as written (fetch would normalise "..", "%2e%2e" and "\\"). */
function raw(
  method: string,
  rawPath: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port: server.port, method, path: rawPath, headers },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

describe("/api/v1/runs/{id}/artifacts", () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>';

  it("uploads a file under SCALEBOARD_ARTIFACT_DIR, lists it and downloads it as an attachment no browser renders", async () => {
    const uploaded = await fetch(artifactsUrl("/plots/loss.svg"), {
      method: "PUT",
      headers: { ...bearer(key), "content-type": "image/svg+xml" },
      body: svg,
    });
    expect(uploaded.status).toBe(201);
    expect(await uploaded.json()).toEqual({ runId, path: "plots/loss.svg", size: svg.length });
    expect(await readFile(path.join(artifactDir, teamId, runId, "plots", "loss.svg"), "utf8")).toBe(svg);

    const listed = await fetch(artifactsUrl(), { headers: bearer(key) });
    expect(listed.status).toBe(200);
    const list = (await listed.json()) as { artifacts: { path: string; isDir: boolean; size?: number }[] };
    expect(list.artifacts.map(({ path: name, isDir, size }) => ({ name, isDir, size }))).toEqual([
      { name: "plots", isDir: true, size: undefined },
      { name: "plots/loss.svg", isDir: false, size: svg.length },
    ]);

    // A signed-in member downloads it from the run page: the session cookie is enough.
    for (const headers of [bearer(key), { cookie: admin.cookie }]) {
      const downloaded = await fetch(artifactsUrl("/plots/loss.svg"), { headers });
      expect(downloaded.status).toBe(200);
      expect(downloaded.headers.get("content-disposition")).toMatch(/^attachment; filename="loss.svg"/);
      expect(downloaded.headers.get("content-type")).toBe("application/octet-stream");
      expect(downloaded.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await downloaded.text()).toBe(svg);
    }
  });

  it("refuses paths that would leave the run's folder with a 400 naming the path, and reads nothing outside", async () => {
    const attempts = [
      "/..%2F..%2F..%2Fetc%2Fpasswd",
      "/%2Fetc%2Fpasswd",
      "/..%5C..%5Cetc%5Cpasswd",
      "/a%5Cb",
      "/a%00b",
    ];
    const reachedHandler = new Set<string>();
    for (const attempt of attempts) {
      for (const method of ["GET", "PUT"]) {
        const answer = await raw(method, `/api/v1/runs/${runId}/artifacts${attempt}`, bearer(key), Buffer.from("x"));
        // Next.js itself answers some of these (an encoded "/" beside dots) with an empty 400 before routing.
        expect({
          attempt,
          method,
          status: answer.status,
          named: answer.text === "" || /Invalid artifact path/.test(answer.text),
        }).toEqual({
          attempt,
          method,
          status: 400,
          named: true,
        });
        if (answer.text) reachedHandler.add(attempt);
        expect(answer.text).not.toContain("root:");
      }
    }
    // Those that reach the handler are refused there, naming the path.
    expect([...reachedHandler]).toEqual(expect.arrayContaining(["/a%5Cb", "/a%00b", "/%2Fetc%2Fpasswd"]));
    // A literal or encoded ".." segment is resolved by the server before routing: the request lands
    // elsewhere in the API and never reaches a file outside either.
    for (const attempt of ["/../../../../etc/passwd", "/a/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"]) {
      for (const method of ["GET", "PUT"]) {
        const answer = await raw(method, `/api/v1/runs/${runId}/artifacts${attempt}`, bearer(key), Buffer.from("x"));
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.text).not.toContain("root:");
      }
    }
  });

  it("answers an upload over the per-file limit with 413 naming the limit, without reading it", async () => {
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(
        {
          host: "127.0.0.1",
          port: server.port,
          method: "PUT",
          path: `/api/v1/runs/${runId}/artifacts/huge.bin`,
          headers: { ...bearer(key), "content-length": String(2 * 1024 ** 3) },
        },
        (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          response.on("end", () => {
            request.destroy();
            resolve({ status: response.statusCode ?? 0, text });
          });
        },
      );
      request.on("error", reject);
      request.write(Buffer.alloc(64 * 1024));
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text).error.message).toMatch(/at most 1 GB/);
    const listed = (await (await fetch(artifactsUrl(), { headers: bearer(key) })).json()) as {
      artifacts: { path: string }[];
    };
    expect(listed.artifacts.map((entry) => entry.path)).not.toContain("huge.bin");
  });

  it("answers another team's run exactly like a missing one (404), no key 401, a worker key 403, a cross-site cookie upload 403", async () => {
    const missing = await fetch(artifactsUrl("/plots/loss.svg", "cmissingrun0000000000000"), { headers: bearer(key) });
    expect(missing.status).toBe(404);
    const missingBody = await missing.json();
    for (const suffix of ["", "/plots/loss.svg"]) {
      const foreign = await fetch(artifactsUrl(suffix), { headers: bearer(otherKey) });
      expect(foreign.status).toBe(404);
      expect(await foreign.json()).toEqual(missingBody);
    }
    const foreignUpload = await fetch(artifactsUrl("/planted.txt"), {
      method: "PUT",
      headers: bearer(otherKey),
      body: "x",
    });
    expect(foreignUpload.status).toBe(404);
    expect((await fetch(artifactsUrl())).status).toBe(401);
    expect((await fetch(artifactsUrl(), { headers: bearer("sb_not_a_key") })).status).toBe(401);
    expect((await fetch(artifactsUrl(), { headers: bearer(workerKey) })).status).toBe(403);
    const crossSite = await fetch(artifactsUrl("/planted.txt"), {
      method: "PUT",
      headers: { cookie: admin.cookie, origin: "https://evil.example" },
      body: "x",
    });
    expect(crossSite.status).toBe(403);
    const listed = (await (await fetch(artifactsUrl(), { headers: bearer(key) })).json()) as {
      artifacts: { path: string }[];
    };
    expect(listed.artifacts.map((entry) => entry.path)).not.toContain("planted.txt");
  });

  it("leaves every other /api/v1/runs path to the v1 API", async () => {
    const run = await fetch(`${server.url}/api/v1/runs/${runId}`, { headers: bearer(key) });
    expect(run.status).toBe(200);
    expect(((await run.json()) as { id?: string; runId?: string }).id ?? runId).toBe(runId);
    const points = await fetch(`${server.url}/api/v1/runs/${runId}/points`, {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json" },
      body: JSON.stringify({ points: [{ key: "loss", step: 0, value: 1 }] }),
    });
    expect(points.status).toBe(200);
  });
});

describe("/api/2.0/mlflow and the MLflow artifact proxy", () => {
  const mlflow = (endpoint: string, init: RequestInit = {}) => fetch(`${server.url}/api/2.0/mlflow/${endpoint}`, init);
  const post = (token: string | null, body: unknown): RequestInit => ({
    method: "POST",
    headers: { ...(token ? bearer(token) : {}), "content-type": "application/json" },
    body: JSON.stringify(body),
  });

  it("replays the mlflow client's request sequences through the real server", async () => {
    const replay = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(
        "python3",
        ["test/python/mlflow_sequences.py", "--url", server.url, "--token", key, "--other-token", otherKey],
        { cwd: ROOT },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(replay.stderr).toBe("");
    expect(replay.code).toBe(0);
  });

  it("answers no key 401, a worker key 403, another team's run 404, all in MLflow's shape", async () => {
    const expectError = async (response: Response, status: number, code: string) => {
      expect(response.status).toBe(status);
      const body = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(["error_code", "message"]);
      expect(body.error_code).toBe(code);
    };
    await expectError(await mlflow(`runs/get?run_id=${runId}`), 401, "UNAUTHENTICATED");
    await expectError(await mlflow("runs/create", post(null, { experiment_id: "0" })), 401, "UNAUTHENTICATED");
    await expectError(await mlflow(`runs/get?run_id=${runId}`, { headers: bearer("nope") }), 401, "UNAUTHENTICATED");
    await expectError(
      await mlflow(`runs/get?run_id=${runId}`, { headers: bearer(workerKey) }),
      403,
      "PERMISSION_DENIED",
    );
    // The owner's key reads the run (a /api/v1 run is an MLflow run too).
    expect((await mlflow(`runs/get?run_id=${runId}`, { headers: bearer(key) })).status).toBe(200);
    const missing = await mlflow("runs/get?run_id=cmissingrun0000000000000", { headers: bearer(key) });
    await expectError(missing, 404, "RESOURCE_DOES_NOT_EXIST");
    for (const [endpoint, init] of [
      [`runs/get?run_id=${runId}`, { headers: bearer(otherKey) }],
      [`metrics/get-history?run_id=${runId}&metric_key=loss`, { headers: bearer(otherKey) }],
      ["runs/log-batch", post(otherKey, { run_id: runId, params: [{ key: "planted", value: "1" }] })],
      ["runs/update", post(otherKey, { run_id: runId, status: "KILLED" })],
      ["runs/set-tag", post(otherKey, { run_id: runId, key: "planted", value: "1" })],
      [`experiments/get?experiment_id=${experimentId}`, { headers: bearer(otherKey) }],
      ["runs/create", post(otherKey, { experiment_id: experimentId })],
    ] as const)
      await expectError(await mlflow(endpoint, init), 404, "RESOURCE_DOES_NOT_EXIST");
    const proxy = `${server.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts`;
    await expectError(
      await fetch(`${proxy}/plots/loss.svg`, { headers: bearer(otherKey) }),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );
    await expectError(
      await fetch(`${proxy}/planted.txt`, { method: "PUT", headers: bearer(otherKey), body: "x" }),
      404,
      "RESOURCE_DOES_NOT_EXIST",
    );
    await expectError(await fetch(`${proxy}/plots/loss.svg`), 401, "UNAUTHENTICATED");
    // The run is untouched: still running, no planted param or tag.
    const run = (await (await mlflow(`runs/get?run_id=${runId}`, { headers: bearer(key) })).json()) as {
      run: { info: { status: string }; data: { params?: { key: string }[]; tags?: { key: string }[] } };
    };
    expect(run.run.info.status).toBe("RUNNING");
    expect(JSON.stringify(run.run.data)).not.toContain("planted");
  });

  it("holds bodies to a limit (413) and refuses traversal through the proxy (400)", async () => {
    const big = await mlflow(
      "runs/log-batch",
      post(key, { run_id: runId, tags: [{ key: "x", value: "y".repeat(2 * 1024 * 1024) }] }),
    );
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error_code: string; message: string }).message).toMatch(/at most 1 MB/);
    const proxyPath = `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts`;
    for (const attempt of ["/..%2F..%2F..%2Fetc%2Fpasswd", "/a%5Cb", "/a%00b"]) {
      const answer = await raw("GET", `${proxyPath}${attempt}`, bearer(key));
      expect({ attempt, status: answer.status }).toEqual({ attempt, status: 400 });
      expect(JSON.parse(answer.text).error_code).toBe("INVALID_PARAMETER_VALUE");
    }
    const listed = await fetch(
      `${server.url}/api/2.0/mlflow-artifacts/artifacts?path=${experimentId}/${runId}/artifacts/..`,
      {
        headers: bearer(key),
      },
    );
    expect(listed.status).toBe(400);
  });
});
