import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDb, type Db } from "../../server/db.ts";
import { MAX_SWEEP_RUNS } from "../../server/domain/hyperparameters/sweep-hyperparameters.ts";
import { mintApiKey, signUp, startServer, teamOf, trpc, type SecurityServer, type Session } from "./server.ts";

/**
 * hyperparameters.sweep against a real server with sign-in on: an experiment with more runs than it
 * reads answers with its first MAX_SWEEP_RUNS and the true count, within a time bound; an oversized
 * metric name is a 400 naming the field; a stranger's session gets NOT_FOUND, as for a missing id.
 */

const RUNS = MAX_SWEEP_RUNS + 100;
/** 2,100 runs (2,000 read, typed and scored) answered in 1.3 s over HTTP on these shared 2-core machines. */
const TIME_BOUND_MS = 5_000;

let server: SecurityServer;
let db: Db;
let admin: Session;
let experimentId: string;

beforeAll(async () => {
  server = await startServer();
  db = createDb(server.databaseUrl);
  admin = await signUp(server, "sweep-admin");
  const key = await mintApiKey(server, admin, await teamOf(server, admin), "full");
  const created = await fetch(`${server.url}/api/v1/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ project: "Bounds", experiment: "big-sweep", name: "first", config: { params: { lr: 1 } } }),
  });
  expect(created.status).toBe(201);
  experimentId = ((await created.json()) as { experimentId: string }).experimentId;
  const runs = Array.from({ length: RUNS - 1 }, (_, index) => ({
    id: `sweep-run-${index}`,
    experimentId,
    name: `run ${index}`,
    cellHash: `cell-${index}`,
    status: "succeeded" as const,
    config: {
      params: { lr: 10 ** (-5 + (index % 40) / 10), "model.width": 2 ** (index % 8), "training.seed": index % 3 },
    },
  }));
  await db.run.createMany({ data: runs });
  await db.metricSeries.createMany({
    data: runs.map((run, index) => ({
      runId: run.id,
      key: "val/loss",
      pointCount: 1,
      lastValue: 1 / (1 + (index % 8)),
      minValue: 1 / (1 + (index % 8)),
      maxValue: 1 / (1 + (index % 8)),
    })),
  });
}, 300_000);
afterAll(async () => {
  await db?.$disconnect();
  await server?.stop();
});

type Sweep = { runs: unknown[]; totalRuns: number; importance: { kind: string; runCount: number } };

describe("hyperparameters.sweep is bounded", () => {
  test(`an experiment of ${RUNS.toLocaleString()} runs answers its first ${MAX_SWEEP_RUNS.toLocaleString()} and the true count, within ${TIME_BOUND_MS} ms`, async () => {
    const started = performance.now();
    const reply = await trpc<Sweep>(server, admin, "hyperparameters.sweep", { experimentId, metric: "val/loss" });
    const elapsed = performance.now() - started;
    expect(reply.status, reply.raw.slice(0, 300)).toBe(200);
    expect(reply.data?.runs).toHaveLength(MAX_SWEEP_RUNS);
    expect(reply.data?.totalRuns).toBe(RUNS);
    expect(reply.data?.importance).toMatchObject({ kind: "ranked" });
    expect(elapsed).toBeLessThan(TIME_BOUND_MS);
  });

  test("a 201-character metric name is a 400 naming the field", async () => {
    const reply = await trpc(server, admin, "hyperparameters.sweep", { experimentId, metric: "m".repeat(201) });
    expect(reply.status).toBe(400);
    expect(reply.raw).toContain("metric");
  });

  test("another user's session gets NOT_FOUND, as a missing experiment does", async () => {
    const stranger = await signUp(server, "sweep-stranger");
    const theirs = await trpc(server, stranger, "hyperparameters.sweep", { experimentId });
    const missing = await trpc(server, stranger, "hyperparameters.sweep", { experimentId: "no-such-experiment" });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(theirs.error?.message).toBe(missing.error?.message);
  });
});
