import { countLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { init } from "scaleboard/sdk";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { findFreePort } from "../../server/database/embedded-postgres.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { killGroup, startApiProcess, type LoggedProcess } from "../helpers/fault-processes.ts";
import { waitFor } from "../helpers/worker-process.ts";
import { expectClientStored, loggedValue, loggingClient } from "./fixtures.ts";

/**
 * kill -9 of the web server while training scripts log through the SDK: the clients retry until a
 * new server answers on the same address; every point they were told is stored is stored once.
 */

const OUTAGE_MS = 300;

let database: TestDatabase;
let key: string;
const servers: LoggedProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const admin = await createUser(database.db);
  const team = await createTeamWith(database.db, { [admin.id]: "admin" });
  key = (await createApiKey(database.db, team.id, admin.id, { name: "ingest", scope: "ingest" })).key;
});
afterAll(async () => {
  await Promise.all(servers.map((server) => killGroup(server)));
  await database?.drop();
});

describe("kill -9 of the API server during ingest", () => {
  it("loses no acknowledged point and duplicates none; clients ride out three crashes", {
    timeout: 90_000,
  }, async () => {
    const port = await findFreePort();
    let api = await startApiProcess(database.url, port);
    servers.push(api);
    onTestFailed(() => console.error(servers.map((server) => server.output()).join("\n---\n")));

    let crashesDone: () => void = () => undefined;
    const until = new Promise<void>((resolve) => (crashesDone = resolve));
    onTestFailed(() => crashesDone());
    const clients = [1, 2, 3].map((client) =>
      loggingClient(api.url, key, { client, steps: 300, every: 20, pauseMs: 5, experiment: "api-kill", until }),
    );
    const ingested = async () => countLoggedPoints(database.db);
    // Three crashes, each while points are flowing, each followed by a restart on the same port.
    for (let crash = 0; crash < 3; crash++) {
      const before = await ingested();
      await waitFor(
        `100 more points stored before crash ${crash + 1}`,
        async () => (await ingested()) >= before + 100,
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      api.signalGroup("SIGKILL");
      expect((await api.exited).signal).toBe("SIGKILL");
      // How long the server stays down: part of the fault, not a wait for anything.
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      api = await startApiProcess(database.url, port);
      servers.push(api);
    }
    crashesDone();
    const results = await Promise.all(clients);
    // The crashes reached the clients: some of their requests failed and were retried.
    expect(results.reduce((sum, result) => sum + result.failedRequests, 0)).toBeGreaterThan(0);
    expect(
      results.filter((result) => result.statuses.has(500)).map((result) => result.runId),
      "no internal errors",
    ).toEqual([]);
    for (const [index, result] of results.entries()) {
      await expectClientStored(database.db, index + 1, result);
    }
  });

  it("keeps a script alive when the server stays down past every retry, and sends its points once it is back", {
    timeout: 60_000,
  }, async () => {
    const port = await findFreePort();
    let api = await startApiProcess(database.url, port);
    servers.push(api);
    // Two attempts per request and a flush every 100 ms: background flushes fail while the server is down.
    let refused = 0;
    const counting: typeof fetch = (input, init) =>
      fetch(input, init).catch((error: unknown) => {
        refused++;
        throw error;
      });
    const run = await init({
      apiUrl: api.url,
      apiKey: key,
      project: "Faults",
      experiment: "api-down",
      maxAttempts: 2,
      flushIntervalMs: 100,
      fetch: counting,
    });
    const logSteps = (from: number, to: number) => {
      for (let step = from; step < to; step++) run.log({ loss: loggedValue(9, step) }, step);
    };
    logSteps(0, 100);
    await run.flush();

    api.signalGroup("SIGKILL");
    await api.exited;
    logSteps(100, 200);
    // Background flushes keep failing (two requests each) and the script lives on.
    await waitFor("three background flushes refused", async () => refused >= 6, { timeoutMs: 20_000, intervalMs: 50 });
    await expect(run.flush(), "an explicit flush reports the outage").rejects.toThrow();

    api = await startApiProcess(database.url, port);
    servers.push(api);
    logSteps(200, 300);
    await run.finish("succeeded");
    await expectClientStored(database.db, 9, {
      runId: run.id,
      logged: Array.from({ length: 300 }, (_, step) => step),
      acknowledged: Array.from({ length: 300 }, (_, step) => step),
      failedRequests: 0,
      statuses: new Set(),
    });
  });
});
