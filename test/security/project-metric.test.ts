import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDb, type Db } from "../../server/db.ts";
import { mintApiKey, signUp, startServer, teamOf, trpc, type SecurityServer, type Session } from "./server.ts";

/**
 * project.setMetric (issue #17) against a real server with sign-in on: only the project's editors
 * and admins (and full keys) change it; a viewer is refused, an ingest key too; a stranger's session
 * gets NOT_FOUND exactly as a missing project does; a cross-site POST is refused; bad input is a 400
 * naming the field, and nothing refused changes the stored setting. experiment.metric reads the same way.
 */

let server: SecurityServer;
let db: Db;
let admin: Session;
let viewer: Session;
let stranger: Session;
let keys: { full: string; ingest: string };
let projectId: string;
let experimentId: string;

const stored = async () =>
  db.project.findUniqueOrThrow({ where: { id: projectId }, select: { metricName: true, metricGoal: true } });

beforeAll(async () => {
  server = await startServer();
  db = createDb(server.databaseUrl);
  admin = await signUp(server, "metric-admin");
  const teamId = await teamOf(server, admin);
  keys = {
    full: await mintApiKey(server, admin, teamId, "full"),
    ingest: await mintApiKey(server, admin, teamId, "ingest"),
  };
  viewer = await signUp(server, "metric-viewer");
  await db.membership.create({ data: { teamId, userId: viewer.userId, role: "viewer" } });
  stranger = await signUp(server, "metric-stranger");
  await teamOf(server, stranger);
  const created = await fetch(`${server.url}/api/v1/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${keys.ingest}`, "content-type": "application/json" },
    body: JSON.stringify({ project: "Settings", experiment: "keras", name: "a" }),
  });
  expect(created.status).toBe(201);
  experimentId = ((await created.json()) as { experimentId: string }).experimentId;
  projectId = (await db.experiment.findUniqueOrThrow({ where: { id: experimentId }, select: { projectId: true } }))
    .projectId;
}, 300_000);
afterAll(async () => {
  await db?.$disconnect();
  await server?.stop();
});

const setMetric = (auth: Session | string, input: unknown) =>
  trpc(server, auth, "project.setMetric", input, "mutation");

describe("project.setMetric", () => {
  test("an admin's session and a full key set it; the experiment's views then read it", async () => {
    expect((await setMetric(admin, { projectId, metric: { name: "val_loss", goal: "min" } })).status).toBe(200);
    expect(await stored()).toEqual({ metricName: "val_loss", metricGoal: "min" });
    expect((await setMetric(keys.full, { projectId, metric: { name: "val/acc", goal: "max" } })).status).toBe(200);
    const read = await trpc<{ name: string; source: string }>(server, viewer, "experiment.metric", { experimentId });
    expect(read.data).toEqual({ name: "val/acc", goal: "max", source: "project" });
  });

  test("a viewer and an ingest key are refused; a stranger gets NOT_FOUND as for a missing project; nothing changes", async () => {
    const before = await stored();
    const input = { projectId, metric: { name: "hijacked", goal: "min" } };
    expect((await setMetric(viewer, input)).status).toBe(403);
    expect((await setMetric(keys.ingest, input)).status).toBe(403);
    const foreign = await setMetric(stranger, input);
    const missing = await setMetric(stranger, { ...input, projectId: "no-such-project" });
    expect(foreign.status).toBe(404);
    expect(foreign.error?.message).toBe(missing.error?.message);
    expect((await trpc(server, stranger, "experiment.metric", { experimentId })).status).toBe(404);
    expect(await stored()).toEqual(before);
  });

  test("a cross-site POST with the admin's cookie is refused and changes nothing", async () => {
    const before = await stored();
    const response = await fetch(`${server.url}/api/trpc/project.setMetric`, {
      method: "POST",
      headers: { cookie: admin.cookie, origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ json: { projectId, metric: { name: "csrf", goal: "min" } } }),
    });
    expect(response.status).toBe(403);
    expect(await stored()).toEqual(before);
  });

  test("a name over 200 characters, an empty name or an unknown goal is a 400 naming the field", async () => {
    const before = await stored();
    for (const [metric, field] of [
      [{ name: "m".repeat(201), goal: "min" }, "name"],
      [{ name: "   ", goal: "min" }, "name"],
      [{ name: "val_loss", goal: "median" }, "goal"],
    ] as const) {
      const reply = await setMetric(admin, { projectId, metric });
      expect(reply.status, reply.raw.slice(0, 300)).toBe(400);
      expect(reply.raw).toContain(field);
    }
    expect(await stored()).toEqual(before);
  });
});
