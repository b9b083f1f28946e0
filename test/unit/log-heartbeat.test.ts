import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { cellConfigOf } from "../../server/domain/spec/expand-sweep.ts";
import { ZSpec, type SpecInput } from "../../server/domain/spec/spec-schema.ts";
import type { ClaimedRun } from "../../worker/run-store.ts";
import { RunSession } from "../../worker/run-session.ts";
import { connectToServer } from "../../worker/server-source.ts";

/**
 * A worker whose heartbeats fail (here: its server answers every call with a 500, as when the
 * server's database is down) says so in its log, with the run's id, instead of going quiet.
 */

const FAILURE = "database unavailable for the test";
let server: Server;
let url = "";
/** While true the server accepts a worker's registration; every other call fails. */
let registering = false;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (registering && request.url?.endsWith("/status"))
      return void response.writeHead(200, { "content-type": "application/json" }).end("{}");
    response.writeHead(500, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { message: FAILURE } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => vi.restoreAllMocks());

function captureStdout(): () => string[] {
  const written = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  return () => written.mock.calls.map((call) => String(call[0]));
}

async function lineWith(lines: () => string[], text: string, timeoutMs = 10_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const found = lines().find((line) => line.includes(text));
    if (found) return found;
    if (performance.now() > deadline)
      throw new Error(`no log line with "${text}" within ${timeoutMs} ms; got:\n${lines().join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const run: ClaimedRun = {
  id: "run-heartbeat-test",
  experimentId: "experiment-1",
  name: "cell",
  attempt: 2,
  maxAttempts: 3,
  config: {
    params: {},
    ...cellConfigOf(
      ZSpec.parse({
        project: "t",
        experiment: "t",
        dataset: { kind: "teacher", inputs: 4, samples: 64 },
        model: { family: "mlp", width: 4, depth: 1 },
        training: {
          optimizer: { kind: "adam", lr: 0.01 },
          batchSize: 16,
          budget: { steps: 10 },
          logEvery: 1,
          evalEvery: 5,
        },
      } satisfies SpecInput),
    ),
  },
  backendPreference: null,
  checkpointEvery: null,
  checkpoint: null,
};

describe("failed heartbeats are logged, not swallowed", () => {
  it("a run's heartbeat that fails is a warning naming the run, its attempt and the error", async () => {
    const source = await connectToServer(url, "sb_test", { allowCommands: false, apiUrl: null, claimPollMs: 1_000 });
    const lines = captureStdout();
    const session = new RunSession(source.store, run);
    session.start();
    try {
      const line = await lineWith(lines, "heartbeat failed");
      expect(line).toContain(run.id);
      expect(line).toContain(FAILURE);
      expect(line).toMatch(/WARN|"level":40/);
      expect(line).toMatch(/"attempt":2|attempt=2/);
    } finally {
      await expect(session.finish({ status: "failed", error: "test over" })).rejects.toThrow(FAILURE);
      await source.close();
    }
  });

  it("the worker's own heartbeat that fails is a warning with the error", async () => {
    const source = await connectToServer(url, "sb_test", { allowCommands: false, apiUrl: null, claimPollMs: 1_000 });
    registering = true;
    await source.store.registerWorker({
      name: "w1",
      host: "test",
      pid: process.pid,
      slots: 1,
      backend: null,
      allowsCommands: false,
    });
    registering = false;
    const lines = captureStdout();
    try {
      await source.upkeep("w1");
      const line = await lineWith(lines, "the worker's heartbeat failed");
      expect(line).toContain(FAILURE);
    } finally {
      await source.close();
    }
  });
});
