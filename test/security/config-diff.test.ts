import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mintApiKey, signUp, startServer, teamOf, trpc, type SecurityServer, type Session } from "./server.ts";

/**
 * runsTable.configDiff (compare's "What differs") against a real server with sign-in on: it reads
 * only runs the caller may read (another team's run is "not found"), at most 200 runs (a 400 naming
 * runIds), and at most 1,000 keys of each run's config, so a logged run whose config is a flood of
 * keys costs one bounded answer.
 */

const MIB = 1024 * 1024;
const FLOOD_KEYS = 20_000;

let server: SecurityServer;
let admin: Session;
let stranger: Session;
const runIds: string[] = [];

/** A run logged over /api/v1 with this config (hyperparameters). */
async function logRun(key: string, name: string, config: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ project: "Config diff", experiment: "flood", name, config }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { runId: string }).runId;
}

beforeAll(async () => {
  server = await startServer();
  admin = await signUp(server, "config-diff-admin");
  const key = await mintApiKey(server, admin, await teamOf(server, admin), "full");
  stranger = await signUp(server, "config-diff-stranger");
  await teamOf(server, stranger);
  const flood = Object.fromEntries(Array.from({ length: FLOOD_KEYS }, (_, index) => [`key${index}`, index]));
  runIds.push(await logRun(key, "a", { ...flood, lr: 0.1 }), await logRun(key, "b", { ...flood, lr: 0.2 }));
});
afterAll(async () => server?.stop());

type Diff = { runIds: string[]; differing: { key: string }[]; same: { key: string }[]; truncated: boolean };

describe("runsTable.configDiff", () => {
  test(`a config of ${FLOOD_KEYS.toLocaleString("en-US")} keys is read to its first 1,000, said so, in an answer under 1 MB`, async () => {
    const answer = await trpc<Diff>(server, admin, "runsTable.configDiff", { runIds });
    expect(answer.status).toBe(200);
    expect(answer.data?.runIds).toEqual(runIds);
    expect(answer.data?.truncated).toBe(true);
    expect((answer.data?.differing.length ?? 0) + (answer.data?.same.length ?? 0)).toBeLessThanOrEqual(1_000);
    expect(answer.raw.length).toBeLessThan(MIB);
  });

  test("more than 200 runs is a 400 that names runIds and the limit", async () => {
    const answer = await trpc(server, admin, "runsTable.configDiff", {
      runIds: Array.from({ length: 201 }, (_, index) => runIds[index % 2]),
    });
    expect(answer.status).toBe(400);
    expect(answer.raw).toContain("runIds");
    expect(answer.raw).toContain("at most 200 runs");
  });

  test("another team's runs are not found, and a signed-out caller is refused", async () => {
    const foreign = await trpc(server, stranger, "runsTable.configDiff", { runIds });
    expect(foreign.status).toBe(404);
    expect(foreign.raw).not.toContain("key0");
    const anonymous = await trpc(server, null, "runsTable.configDiff", { runIds });
    expect(anonymous.status).toBe(401);
    expect(anonymous.raw).not.toContain("key0");
  });
});
