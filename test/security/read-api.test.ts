import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDb, type Db } from "../../server/db.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { createRunKey } from "../../server/domain/api-key/create-run-key.ts";
import { mintApiKey, signUp, startServer, teamOf, type SecurityServer, type Session } from "./server.ts";

/**
 * The read API (issues #15 and #17) against a real server with sign-in on: who may read experiments,
 * runs, points and scaling analyses; another team's ids answer exactly like missing ones; a command
 * run's own key reads its run only; every list and window is bounded and a bad parameter is a 400
 * naming it. Also the one step bound of points and heartbeats.
 */

let server: SecurityServer;
let db: Db;
let admin: Session;
let keys: { ingest: string; full: string; worker: string; viewer: string; otherTeam: string; runBound: string };
let experimentId: string;
let runId: string;
let otherRunId: string;

type Reply = { status: number; body: Record<string, unknown> & { error?: { message: string } } };

async function call(method: string, route: string, auth: string | Session | null, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (typeof auth === "string") headers.authorization = `Bearer ${auth}`;
  else if (auth) Object.assign(headers, { cookie: auth.cookie, origin: server.url });
  const response = await fetch(`${server.url}/api/v1${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Reply["body"] };
}

beforeAll(async () => {
  server = await startServer();
  db = createDb(server.databaseUrl);
  admin = await signUp(server, "reader-admin");
  const teamId = await teamOf(server, admin);
  keys = {
    ingest: await mintApiKey(server, admin, teamId, "ingest"),
    full: await mintApiKey(server, admin, teamId, "full"),
    worker: await mintApiKey(server, admin, teamId, "worker"),
    viewer: "",
    otherTeam: "",
    runBound: "",
  };
  // A viewer of the team with an ingest key: it reads (viewer is enough) but cannot write.
  const viewer = await signUp(server, "reader-viewer");
  await db.membership.create({ data: { teamId, userId: viewer.userId, role: "viewer" } });
  keys.viewer = (await createApiKey(db, teamId, viewer.userId, { name: "viewer", scope: "ingest" })).key;
  const stranger = await signUp(server, "reader-stranger");
  keys.otherTeam = await mintApiKey(server, stranger, await teamOf(server, stranger), "full");

  const created = await call("POST", "/runs", keys.ingest, { project: "Secrets", experiment: "sweep", name: "a" });
  expect(created.status).toBe(201);
  runId = created.body.runId as string;
  experimentId = created.body.experimentId as string;
  otherRunId = (await call("POST", "/runs", keys.ingest, { project: "Secrets", experiment: "sweep", name: "b" })).body
    .runId as string;
  await call("POST", `/runs/${runId}/points`, keys.ingest, { points: [{ key: "val/loss", step: 1, value: 2.5 }] });
  keys.runBound = (await createRunKey(db, runId))!.key;
});
afterAll(async () => {
  await db?.$disconnect();
  await server?.stop();
});

const routes = () => ({
  experiments: "/experiments?project=Secrets&name=sweep",
  scaling: `/experiments/${experimentId}/scaling?metric=val/loss`,
  runs: "/runs?project=Secrets&experiment=sweep",
  run: `/runs/${runId}`,
  points: `/runs/${runId}/points?key=val/loss`,
});

describe("who may read", () => {
  test("no key, a bad key or a signed-in session: 401 on every read endpoint (the API takes keys only)", async () => {
    for (const [name, route] of Object.entries(routes())) {
      expect((await call("GET", route, null)).status, name).toBe(401);
      expect((await call("GET", route, "sb_nope0000_xxxxxxxxxxxxxxxxxxxxxxxx")).status, name).toBe(401);
      expect((await call("GET", route, admin)).status, name).toBe(401);
    }
  });

  test("ingest, full and a viewer's ingest key read; a worker key is refused with 403", async () => {
    for (const [name, route] of Object.entries(routes())) {
      for (const key of [keys.ingest, keys.full, keys.viewer])
        expect((await call("GET", route, key)).status, name).toBe(200);
      const worker = await call("GET", route, keys.worker);
      expect(worker.status, name).toBe(403);
      expect(worker.body.error?.message, name).toMatch(/scope "worker"/);
    }
    // The viewer's key reads but does not write.
    expect((await call("POST", `/runs/${runId}/heartbeat`, keys.viewer, { step: 2 })).status).toBe(403);
  });

  test("another team's ids answer exactly like missing ones, and its lists hold none of this team's", async () => {
    const pairs: [string, string][] = [
      [`/experiments/${experimentId}/scaling`, "/experiments/no-such-experiment/scaling"],
      [`/runs/${runId}`, "/runs/no-such-run"],
      [`/runs/${runId}/points?key=val/loss`, "/runs/no-such-run/points?key=val/loss"],
    ];
    for (const [foreign, missing] of pairs) {
      const hidden = await call("GET", foreign, keys.otherTeam);
      const absent = await call("GET", missing, keys.otherTeam);
      expect(hidden.status, foreign).toBe(404);
      expect(hidden.body.error?.message).toBe(absent.body.error?.message);
    }
    expect((await call("GET", "/experiments?project=Secrets", keys.otherTeam)).body.experiments).toEqual([]);
    expect((await call("GET", "/runs", keys.otherTeam)).body.runs).toEqual([]);
  });

  test("a command run's own key reads its run only: other runs, experiments and analyses are missing to it", async () => {
    expect((await call("GET", `/runs/${runId}`, keys.runBound)).status).toBe(200);
    expect((await call("GET", `/runs/${runId}/points?key=val/loss`, keys.runBound)).status).toBe(200);
    const other = await call("GET", `/runs/${otherRunId}`, keys.runBound);
    expect(other.status).toBe(404);
    expect(other.body).toEqual((await call("GET", "/runs/no-such-run", keys.runBound)).body);
    expect((await call("GET", `/runs/${otherRunId}/points?key=val/loss`, keys.runBound)).status).toBe(404);
    expect((await call("GET", "/experiments", keys.runBound)).status).toBe(404);
    expect((await call("GET", `/experiments/${experimentId}/scaling`, keys.runBound)).status).toBe(404);
    const listed = await call("GET", "/runs", keys.runBound);
    expect((listed.body.runs as { id: string }[]).map((run) => run.id)).toEqual([runId]);
  });
});

describe("bounded work and bad parameters", () => {
  test("each bad or unbounded parameter is a 400 naming it", async () => {
    const cases: [string, string][] = [
      ["/experiments?limit=501", "limit"],
      ["/experiments?cursor=eyJ0IjoxfQ", "cursor"],
      ["/experiments?name=a&name=b", "name"],
      ["/runs?limit=1001", "limit"],
      ["/runs?limit=-1", "limit"],
      ["/runs?where=1", "where"],
      [`/runs/${runId}/points`, "key"],
      [`/runs/${runId}/points?key=val/loss&maxPoints=5001`, "maxPoints"],
      [`/runs/${runId}/points?key=val/loss&maxPoints=1`, "maxPoints"],
      [`/runs/${runId}/points?key=val/loss&fromStep=2147483648`, "fromStep"],
      [`/runs/${runId}/points?key=val/loss&toStep=1e3`, "toStep"],
      [`/runs/${runId}/points?key=${"k".repeat(201)}`, "key"],
      [`/experiments/${experimentId}/scaling?budgetFlops=-1`, "budgetFlops"],
      [`/experiments/${experimentId}/scaling?budgetFlops=1e41`, "budgetFlops"],
      [`/experiments/${experimentId}/scaling?budgetSeconds=soon`, "budgetSeconds"],
      [`/experiments/${experimentId}/scaling?metric=`, "metric"],
    ];
    for (const [route, parameter] of cases) {
      const answer = await call("GET", route, keys.ingest);
      expect(answer.status, route).toBe(400);
      expect(answer.body.error?.message, route).toContain(parameter);
      expect(JSON.stringify(answer.body), route).not.toMatch(/at .*\.ts:\d+/);
    }
  });

  test("pages are capped: 1,000 runs, 500 experiments, 5,000 points; an unknown read path is a 404", async () => {
    const runs = await call("GET", "/runs?limit=1000", keys.ingest);
    expect(runs.status).toBe(200);
    expect((runs.body.runs as unknown[]).length).toBeLessThanOrEqual(1000);
    const experiments = await call("GET", "/experiments?limit=500", keys.ingest);
    expect(experiments.status).toBe(200);
    const points = await call("GET", `/runs/${runId}/points?key=val/loss&maxPoints=5000`, keys.ingest);
    expect(points.body.points).toEqual([{ step: 1, value: 2.5 }]);
    expect((await call("GET", `/runs/${runId}/secrets`, keys.ingest)).status).toBe(404);
    expect((await call("GET", `/experiments/${experimentId}/runs`, keys.ingest)).status).toBe(404);
    expect((await call("POST", "/experiments", keys.ingest, {})).status).toBe(404);
  });

  test("a heartbeat at step 2^31 is a 400 naming step (it was a 500), as a point there is", async () => {
    const heartbeat = await call("POST", `/runs/${otherRunId}/heartbeat`, keys.ingest, { step: 2_147_483_648 });
    expect(heartbeat.status).toBe(400);
    expect(heartbeat.body.error?.message).toMatch(/^Invalid request: step: /);
    const point = await call("POST", `/runs/${otherRunId}/points`, keys.ingest, {
      points: [{ key: "loss", step: 2_147_483_648, value: 1 }],
    });
    expect(point.status).toBe(400);
    expect(point.body.error?.message).toContain("step");
  });
});
