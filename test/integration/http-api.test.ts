import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { init } from "scaleboard/sdk";
import type { Db } from "../../server/db.ts";
import { handleV1 } from "../../server/http/v1.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startV1Server } from "../helpers/v1-server.ts";

let database: TestDatabase;
let server: { url: string; close: () => Promise<void> };
let key: string;
let workerKey: string;
let otherTeamKey: string;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startV1Server(database.db);
  const admin = await createUser(database.db);
  const team = await createTeamWith(database.db, { [admin.id]: "admin" });
  key = (await createApiKey(database.db, team.id, admin.id, { name: "ingest", scope: "ingest" })).key;
  workerKey = (await createApiKey(database.db, team.id, admin.id, { name: "worker", scope: "worker" })).key;
  const other = await createTeamWith(database.db, { [admin.id]: "admin" });
  otherTeamKey = (await createApiKey(database.db, other.id, admin.id, { name: "other", scope: "full" })).key;
});
afterAll(async () => {
  await server.close();
  await database.drop();
});

/** A JSON reply: what a route answers, or the { error: { message, issues } } of a refused request (issues: a bad body). */
type JsonReply = Record<string, unknown> & { error: { message: string; issues: { path: string }[] } };

async function call(method: string, route: string, body?: unknown, token = key, raw?: string) {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: response.status, body: (await response.json()) as JsonReply };
}

async function series(runId: string, key: string) {
  return (await readLoggedPoints(database.db, { runId, key })).map(({ step, value }) => ({ step, value }));
}

describe("/api/v1", () => {
  it("lets a key act only with its creator's current role: a demoted creator's full key cannot log, a removed creator's key is refused", async () => {
    const db = database.db;
    const creator = await createUser(db);
    const team = await createTeamWith(db, { [creator.id]: "editor" });
    const full = (await createApiKey(db, team.id, creator.id, { name: "full", scope: "full" })).key;
    const created = await call("POST", "/runs", { project: "Roles", experiment: "demoted", config: {} }, full);
    expect(created.status).toBe(201);
    await db.membership.update({
      where: { teamId_userId: { teamId: team.id, userId: creator.id } },
      data: { role: "viewer" },
    });
    const refused = await call(
      "POST",
      `/runs/${created.body.runId}/points`,
      { points: [{ key: "loss", step: 0, value: 1 }] },
      full,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/viewer/);
    await db.membership.delete({ where: { teamId_userId: { teamId: team.id, userId: creator.id } } });
    expect((await call("POST", "/runs", { project: "Roles", experiment: "removed", config: {} }, full)).status).toBe(
      401,
    );
  });

  it("creates a run, logs points idempotently, stores NaN and infinities, and finishes it", async () => {
    const created = await call("POST", "/runs", {
      project: "External",
      experiment: "torch",
      name: "w=64",
      config: { width: 64 },
    });
    expect(created.status).toBe(201);
    const runId = created.body.runId as string;
    const batch = {
      points: [
        { key: "train/loss", step: 0, value: 2.5 },
        { key: "train/loss", step: 1, value: "NaN" },
        { key: "train/loss", step: 2, value: "Infinity" },
      ],
    };
    expect((await call("POST", `/runs/${runId}/points`, batch)).status).toBe(200);
    expect((await call("POST", `/runs/${runId}/points`, batch)).status).toBe(200);
    const stored = await series(runId, "train/loss");
    expect(stored.map((point) => point.step)).toEqual([0, 1, 2]);
    expect(stored.map((point) => point.value)).toEqual([2.5, Number.NaN, Number.POSITIVE_INFINITY]);
    // Python's json.dumps writes bare NaN; that works too.
    expect(
      (
        await call(
          "POST",
          `/runs/${runId}/points`,
          undefined,
          key,
          '{"points": [{"key": "val/loss", "step": 3, "value": NaN}]}',
        )
      ).status,
    ).toBe(200);

    expect(
      (
        await call("POST", `/runs/${runId}/summary`, {
          paramCount: 1234,
          flopsPerStep: 5e6,
          summary: { "val/loss": 0.3 },
        })
      ).status,
    ).toBe(200);
    expect((await call("POST", `/runs/${runId}/heartbeat`, { step: 3 })).body).toEqual({
      runId,
      cancelRequested: false,
    });
    expect((await call("POST", `/runs/${runId}/finish`, { status: "succeeded" })).status).toBe(200);
    const run = await database.db.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run).toMatchObject({ status: "succeeded", paramCount: 1234n, summary: { "val/loss": 0.3 } });
    expect((await call("POST", `/runs/${runId}/finish`, { status: "failed" })).status).toBe(409);
  });

  it("refuses bad input with 4xx messages naming the field, and oversized bodies with 413", async () => {
    const { body: created } = await call("POST", "/runs", { project: "External", experiment: "torch" });
    const runId = created.runId as string;
    const bad = await call("POST", `/runs/${runId}/points`, { points: [{ key: "", step: -1, value: "high" }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((issue: { path: string }) => issue.path)).toEqual(
      expect.arrayContaining(["points.0.key", "points.0.step", "points.0.value"]),
    );
    expect((await call("POST", `/runs/${runId}/points`, undefined, key, "{not json")).status).toBe(400);
    const tooMany = await call("POST", `/runs/${runId}/points`, {
      points: Array.from({ length: 10_001 }, (_, step) => ({ key: "k", step, value: 1 })),
    });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error.message).toMatch(/1 MB|10,?000/);
    const hugeName = await call("POST", "/runs", { project: "x".repeat(1_100_000), experiment: "e" });
    expect(hugeName.status).toBe(413);
    expect((await call("POST", `/runs/${runId}/points`, { points: [] })).status).toBe(400);
    expect((await call("POST", "/nothing", {})).status).toBe(404);
  });

  it("authenticates with scoped keys, and hides other teams' runs", async () => {
    const { body: created } = await call("POST", "/runs", { project: "External", experiment: "torch" });
    expect(
      (await call("POST", "/runs", { project: "p", experiment: "e" }, "sb_nope_xxxxxxxxxxxxxxxxxxxxxxxx")).status,
    ).toBe(401);
    expect((await call("POST", "/runs", { project: "p", experiment: "e" }, workerKey)).status).toBe(403);
    const foreign = await call(
      "POST",
      `/runs/${created.runId}/points`,
      { points: [{ key: "k", step: 0, value: 1 }] },
      otherTeamKey,
    );
    expect(foreign.status).toBe(404);
    expect((await call("GET", `/runs/does-not-exist`)).status).toBe(404);
  });

  it("serves an OpenAPI document generated from the zod schemas", async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/runs", "/runs/{runId}/points", "/runs/{runId}/finish"]),
    );
    expect(JSON.stringify(document.paths["/runs/{runId}/points"])).toContain('"maxItems":10000');
  });
});

describe("TypeScript SDK", () => {
  it("batches points, retries after failures, flushes and finishes", async () => {
    let failures = 2;
    const flaky: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/points") && failures > 0) {
        failures -= 1;
        return new Response(JSON.stringify({ error: { message: "try later" } }), { status: 503 });
      }
      return fetch(input, init);
    };
    const run = await init({
      apiUrl: server.url,
      apiKey: key,
      project: "SDK",
      experiment: "ts",
      config: { width: 8 },
      batchSize: 50,
      flushIntervalMs: 60_000,
      fetch: flaky,
    });
    for (let step = 0; step < 120; step++) run.log({ "train/loss": 1 / (step + 1), lr: 0.001 }, step);
    await run.summary({ paramCount: 99 });
    await run.finish();
    expect(failures).toBe(0);
    expect((await series(run.id, "train/loss")).length).toBe(120);
    expect((await series(run.id, "lr")).length).toBe(120);
    expect(
      await database.db.run.findUniqueOrThrow({ where: { id: run.id }, select: { status: true, paramCount: true } }),
    ).toEqual({ status: "succeeded", paramCount: 99n });
  });

  it("does not retry a request the server refused", async () => {
    await expect(
      init({ apiUrl: server.url, apiKey: "sb_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" }),
    ).rejects.toMatchObject({ status: 401 });
  });
});

describe("the README's Python snippet", () => {
  const python = spawnSync("python3", ["--version"]).status === 0;
  it("logs a run with only the standard library", async () => {
    expect(python, "python3 must be installed: this test runs the README's Python snippet").toBe(true);
    // Asynchronously: the server answering it runs in this process.
    const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("python3", [path.resolve(import.meta.dirname, "../../examples/log_from_python.py")], {
        env: { ...process.env, SCALEBOARD_API_URL: server.url, SCALEBOARD_API_KEY: key },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const runId = /logged run (\S+)/.exec(result.stdout)?.[1];
    expect(runId).toBeTruthy();
    expect((await series(runId!, "train/loss")).length).toBe(100);
    expect(await database.db.run.findUniqueOrThrow({ where: { id: runId! }, select: { status: true } })).toEqual({
      status: "succeeded",
    });
  });
});

describe("/api/v1 errors", () => {
  it("answers an unexpected error with 500 and a request id that the log line carries, never the database's own text", async () => {
    const databaseText = 'relation "ApiKey" does not exist (SQLSTATE 42P01)';
    // The key lookup (a raw statement) fails as a broken database would.
    const failing = new Proxy(database.db, {
      get: (target, property) =>
        property === "$queryRaw" ? () => Promise.reject(new Error(databaseText)) : Reflect.get(target, property),
    }) as Db;
    const logged = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      for (const path of [
        ["runs", "some-run"],
        ["worker", "claim"],
      ]) {
        const request = new Request(`http://localhost/api/v1/${path.join("/")}`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: "{}",
        });
        const response = await handleV1(failing, request, path);
        expect(response.status).toBe(500);
        const text = await response.text();
        expect(text).not.toContain("42P01");
        expect(text).not.toContain("relation");
        const requestId = /\(request ([0-9a-f-]{36})\)/.exec(text)?.[1];
        expect(requestId, text).toBeTruthy();
        const line = logged.mock.calls.map((call) => String(call[0])).find((text) => text.includes(requestId!));
        expect(line, "the server log names the request id").toBeDefined();
        expect(line).toContain("42P01");
      }
    } finally {
      logged.mockRestore();
    }
  });

  it("refuses text PostgreSQL cannot store in a worker's body with a 400 naming the field", async () => {
    const refused = await call(
      "POST",
      "/worker/status",
      { name: "box\u0000", host: "h", pid: 1, slots: 1, state: "starting" },
      workerKey,
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("name: text may not contain the NUL character");
  });
});
