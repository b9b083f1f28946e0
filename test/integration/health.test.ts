import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { createDb } from "../../server/db.ts";
import { recordWorkerHeartbeat, registerWorker } from "../../server/domain/worker/register-worker.ts";
import { callerFor, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

function caller(db = database.db) {
  return createCaller(createTRPCContext({ db, headers: new Headers() }));
}

describe("health.status", () => {
  it("tells an anonymous caller only that the server is up: no version, latency or workers", async () => {
    await registerWorker(database.db, { name: "w-anonymous-check", host: "secret-host", pid: 4242, slots: 1 });
    const health = await caller().health.status();
    expect(health.status).toBe("ok");
    expect(health.database).toEqual({ up: true, latencyMs: null, serverVersion: null, error: null });
    expect(health.workers).toEqual({ alive: null, list: [] });
    expect(JSON.stringify(health)).not.toMatch(/secret-host|4242/);
    await database.db.worker.deleteMany({ where: { name: "w-anonymous-check" } });
  });

  it("reports the database up and degraded to a signed-in user while no worker runs", async () => {
    const user = await createUser(database.db);
    const health = await callerFor(database.db, userActor(user.id)).health.status();
    expect(health.database.up).toBe(true);
    expect(health.database.serverVersion).toMatch(/^\d+/);
    expect(health.workers.alive).toBe(0);
    expect(health.status).toBe("degraded");
  });

  it("is ok once a worker heartbeats, counts a silent worker as not alive, and shows a member only their teams' workers", async () => {
    const user = await createUser(database.db);
    const team = await createTeamWith(database.db, { [user.id]: "viewer" });
    const other = await createTeamWith(database.db);
    await registerWorker(database.db, { name: "w-live", host: "h", pid: 1, slots: 2 });
    await recordWorkerHeartbeat(database.db, "w-live");
    await database.db.worker.create({
      data: { name: "w-silent", host: "h", pid: 2, heartbeatAt: new Date(Date.now() - 5 * 60_000) },
    });
    await database.db.worker.create({ data: { name: "w-mine", teamId: team.id, host: "mine", pid: 3 } });
    await database.db.worker.create({ data: { name: "w-theirs", teamId: other.id, host: "theirs", pid: 4 } });
    const health = await callerFor(database.db, userActor(user.id)).health.status();
    expect(health.status).toBe("ok");
    expect(health.workers.alive).toBe(2);
    expect(health.workers.list.find((worker) => worker.name === "w-silent")?.alive).toBe(false);
    expect(health.workers.list.map((worker) => worker.name).sort()).toEqual(["w-live", "w-mine", "w-silent"]);
  });

  it("reports the database down without throwing when it cannot be reached, with the reason only for signed-in callers", async () => {
    const unreachable = createDb("postgresql://nobody:pw@127.0.0.1:1/none");
    const health = await callerFor(unreachable, { kind: "user", userId: "local-admin", via: "local" }).health.status();
    expect(health.status).toBe("down");
    expect(health.database.up).toBe(false);
    expect(health.database.error).toBeTruthy();
    const anonymous = await caller(unreachable).health.status();
    expect(anonymous).toMatchObject({ status: "down", database: { up: false, error: null } });
    await unreachable.$disconnect();
  });
});

describe("project.list", () => {
  it("pages through a team's projects with a cursor", async () => {
    const user = await createUser(database.db);
    const team = await createTeamWith(database.db, { [user.id]: "viewer" });
    const other = await createTeamWith(database.db);
    for (let index = 0; index < 5; index++) {
      await database.db.project.create({ data: { teamId: team.id, name: `P${index}`, slug: `p${index}` } });
    }
    await database.db.project.create({ data: { teamId: other.id, name: "Elsewhere", slug: "elsewhere" } });
    const viewer = callerFor(database.db, userActor(user.id));
    const first = await viewer.project.list({ teamId: team.id, limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toBeTruthy();
    const seen = [...first.items];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await viewer.project.list({ teamId: team.id, limit: 2, cursor });
      seen.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(new Set(seen.map((project) => project.name))).toEqual(new Set(["P0", "P1", "P2", "P3", "P4"]));
    expect(seen[0]).not.toHaveProperty("teamId");
  });

  it("rejects a bad limit with BAD_REQUEST naming the field", async () => {
    const user = await createUser(database.db);
    const team = await createTeamWith(database.db, { [user.id]: "viewer" });
    const error = await callerFor(database.db, userActor(user.id))
      .project.list({ teamId: team.id, limit: 0 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("BAD_REQUEST");
    expect((error as TRPCError).message).toContain("limit");
  });
});
