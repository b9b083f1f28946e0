import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../../server/domain/access/actor.ts";
import {
  assertExperimentsReadable,
  assertRunsReadable,
  resolveExperimentAccess,
  resolveProjectAccess,
  resolveReportAccess,
  resolveRunAccess,
  resolveTeamAccess,
} from "../../server/domain/access/resource-access.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { createRunKey } from "../../server/domain/api-key/create-run-key.ts";
import { verifyApiKey } from "../../server/domain/api-key/verify-api-key.ts";
import { handleV1 } from "../../server/http/v1.ts";
import { callerFor, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/** server/domain/access/resource-access.ts: the one answer to "may this actor use this run / experiment / project / report?". */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

/** A team with a project, an experiment, two runs and a report. */
async function seedTeam(members: Record<string, "viewer" | "editor" | "admin">) {
  const { db } = database;
  const team = await createTeamWith(db, members);
  const project = await db.project.create({
    data: { teamId: team.id, name: "P", slug: `p-${randomBytes(3).toString("hex")}` },
    select: { id: true },
  });
  const experiment = await db.experiment.create({ data: { projectId: project.id, name: "e" }, select: { id: true } });
  const [run, sibling] = await Promise.all(
    ["a", "b"].map((name) =>
      db.run.create({
        data: { experimentId: experiment.id, name, cellHash: randomBytes(8).toString("hex"), config: {} },
        select: { id: true },
      }),
    ),
  );
  const report = await db.report.create({
    data: { projectId: project.id, title: "R", runIds: [run!.id] },
    select: { id: true },
  });
  return {
    teamId: team.id,
    projectId: project.id,
    experimentId: experiment.id,
    runId: run!.id,
    siblingRunId: sibling!.id,
    reportId: report.id,
  };
}

type Seeded = Awaited<ReturnType<typeof seedTeam>>;
let ours: Seeded;
let theirs: Seeded;
let viewer: Actor;
let editor: Actor;
let outsider: Actor;
let outsiderKey: Actor;

beforeAll(async () => {
  const { db } = database;
  const [vera, eddie, otto] = await Promise.all(["Vera", "Eddie", "Otto"].map((name) => createUser(db, name)));
  ours = await seedTeam({ [vera!.id]: "viewer", [eddie!.id]: "editor" });
  theirs = await seedTeam({ [otto!.id]: "admin" });
  viewer = userActor(vera!.id);
  editor = userActor(eddie!.id);
  outsider = userActor(otto!.id);
  const { key } = await createApiKey(db, theirs.teamId, otto!.id, { name: "theirs", scope: "full" });
  outsiderKey = (await verifyApiKey(db, key))!;
});

/** The error a check throws, as a caller would see it (code and message), or "allowed". */
async function outcome(check: Promise<unknown>): Promise<string> {
  try {
    await check;
    return "allowed";
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return `${code}: ${message}`;
  }
}

async function v1(
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const request = new Request(`http://localhost/api/v1/${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const response = await handleV1(database.db, request, path.split("/"));
  return { status: response.status, body: await response.json() };
}

describe("another team's resources do not exist", () => {
  it.each([
    ["a member of another team", () => outsider],
    ["another team's full key", () => outsiderKey],
  ])("for %s: every check answers NOT_FOUND naming the thing asked about", async (_, who) => {
    const { db } = database;
    const actor = who();
    expect(await outcome(resolveTeamAccess(db, actor, ours.teamId, "viewer"))).toBe("NOT_FOUND: Team not found");
    expect(await outcome(resolveProjectAccess(db, actor, ours.projectId, "viewer"))).toBe(
      "NOT_FOUND: Project not found",
    );
    expect(await outcome(resolveExperimentAccess(db, actor, ours.experimentId, "viewer"))).toBe(
      "NOT_FOUND: Experiment not found",
    );
    expect(await outcome(resolveRunAccess(db, actor, ours.runId, "viewer"))).toBe("NOT_FOUND: Run not found");
    expect(await outcome(resolveReportAccess(db, actor, ours.reportId, "viewer"))).toBe("NOT_FOUND: Report not found");
    expect(await outcome(assertRunsReadable(db, actor, [theirs.runId, ours.runId]))).toBe("NOT_FOUND: Run not found");
    expect(await outcome(assertExperimentsReadable(db, actor, [ours.experimentId]))).toBe(
      "NOT_FOUND: Experiment not found",
    );
    // The same answer as for ids that never existed.
    expect(await outcome(resolveRunAccess(db, actor, "no-such-run", "viewer"))).toBe("NOT_FOUND: Run not found");
    expect(await outcome(resolveReportAccess(db, actor, "no-such-report", "viewer"))).toBe(
      "NOT_FOUND: Report not found",
    );
    // Its own team's resources stay readable.
    expect(await outcome(resolveRunAccess(db, actor, theirs.runId, "viewer"))).toBe("allowed");
    expect(await outcome(assertRunsReadable(db, actor, [theirs.runId, theirs.siblingRunId]))).toBe("allowed");
  });

  it("through tRPC: run, experiment and report procedures answer NOT_FOUND", async () => {
    const api = callerFor(database.db, outsider);
    expect(await outcome(api.run.get({ runId: ours.runId }))).toBe("NOT_FOUND: Run not found");
    expect(await outcome(api.run.list({ experimentId: ours.experimentId }))).toBe("NOT_FOUND: Experiment not found");
    expect(await outcome(api.report.get({ reportId: ours.reportId }))).toBe("NOT_FOUND: Report not found");
    expect(await outcome(api.metrics.keys({ runIds: [ours.runId] }))).toBe("NOT_FOUND: Run not found");
    expect(await outcome(api.scaling.compare({ runIds: [theirs.runId, ours.runId] }))).toBe("NOT_FOUND: Run not found");
  });
});

describe("a viewer reads but cannot edit", () => {
  it("each check: viewer allowed, editor refused with FORBIDDEN naming the role", async () => {
    const { db } = database;
    expect(await outcome(resolveRunAccess(db, viewer, ours.runId, "viewer"))).toBe("allowed");
    expect(await outcome(resolveReportAccess(db, viewer, ours.reportId, "viewer"))).toBe("allowed");
    const refused = "FORBIDDEN: This needs the editor role in the team; you are a viewer";
    expect(await outcome(resolveRunAccess(db, viewer, ours.runId, "editor"))).toBe(refused);
    expect(await outcome(resolveExperimentAccess(db, viewer, ours.experimentId, "editor"))).toBe(refused);
    expect(await outcome(resolveReportAccess(db, viewer, ours.reportId, "editor"))).toBe(refused);
    expect(await outcome(resolveRunAccess(db, editor, ours.runId, "editor"))).toBe("allowed");
  });

  it("through tRPC: annotating a run, canceling an experiment and editing a report are refused; nothing changes", async () => {
    const api = callerFor(database.db, viewer);
    expect(await outcome(api.runsTable.annotate({ runId: ours.runId, notes: "mine" }))).toMatch(/^FORBIDDEN: /);
    expect(await outcome(api.run.cancelExperiment({ experimentId: ours.experimentId }))).toMatch(/^FORBIDDEN: /);
    expect(await outcome(api.report.update({ reportId: ours.reportId, title: "Taken" }))).toMatch(/^FORBIDDEN: /);
    expect(
      await database.db.report.findUniqueOrThrow({ where: { id: ours.reportId }, select: { title: true } }),
    ).toEqual({ title: "R" });
    expect(await outcome(api.run.get({ runId: ours.runId }))).toBe("allowed");
  });
});

describe("a run-bound key (a command run's own key) reaches its run only", () => {
  let key: string;
  let bound: Actor;
  beforeAll(async () => {
    key = (await createRunKey(database.db, ours.runId))!.key;
    bound = (await verifyApiKey(database.db, key))!;
  });

  it("verifyApiKey carries the binding; an ordinary key has none", async () => {
    expect(bound).toMatchObject({ kind: "apiKey", scope: "ingest", runId: ours.runId });
    expect(outsiderKey).not.toHaveProperty("runId");
  });

  it("its own run resolves; its sibling run and every team, project, experiment and report are NOT_FOUND", async () => {
    const { db } = database;
    expect(await outcome(resolveRunAccess(db, bound, ours.runId, "editor", ["ingest"]))).toBe("allowed");
    expect(await outcome(resolveRunAccess(db, bound, ours.siblingRunId, "viewer", ["ingest"]))).toBe(
      "NOT_FOUND: Run not found",
    );
    expect(await outcome(assertRunsReadable(db, bound, [ours.runId, ours.siblingRunId]))).toBe(
      "NOT_FOUND: Run not found",
    );
    expect(await outcome(resolveTeamAccess(db, bound, ours.teamId, "viewer", ["ingest"]))).toBe(
      "NOT_FOUND: Team not found",
    );
    expect(await outcome(resolveProjectAccess(db, bound, ours.projectId, "viewer", ["ingest"]))).toBe(
      "NOT_FOUND: Project not found",
    );
    expect(await outcome(resolveExperimentAccess(db, bound, ours.experimentId, "viewer", ["ingest"]))).toBe(
      "NOT_FOUND: Experiment not found",
    );
    expect(await outcome(assertExperimentsReadable(db, bound, [ours.experimentId]))).toBe(
      "NOT_FOUND: Experiment not found",
    );
    expect(await outcome(resolveReportAccess(db, bound, ours.reportId, "viewer", ["ingest"]))).toBe(
      "NOT_FOUND: Report not found",
    );
  });

  it("an unbound ingest key of the same team reaches the sibling run: the binding is what refuses", async () => {
    const { db } = database;
    const team = await db.team.findUniqueOrThrow({
      where: { id: ours.teamId },
      select: { memberships: { where: { role: "editor" }, select: { userId: true } } },
    });
    const { key: plain } = await createApiKey(db, ours.teamId, team.memberships[0]!.userId, {
      name: "plain",
      scope: "ingest",
    });
    const unbound = (await verifyApiKey(db, plain))!;
    expect(await outcome(resolveRunAccess(db, unbound, ours.siblingRunId, "editor", ["ingest"]))).toBe("allowed");
  });

  it("through /api/v1: writes to and reads its run, gets 404 for the sibling run and nothing is written there", async () => {
    const point = { points: [{ key: "loss", step: 1, value: 0.5 }] };
    expect(await v1(key, "POST", `runs/${ours.runId}/points`, point)).toEqual({
      status: 200,
      body: { runId: ours.runId, stored: 1, new: 1, replaced: 0, unchanged: 0 },
    });
    expect((await v1(key, "GET", `runs/${ours.runId}`)).status).toBe(200);
    const notFound = { status: 404, body: { error: { message: `Run ${ours.siblingRunId} not found` } } };
    expect(await v1(key, "POST", `runs/${ours.siblingRunId}/points`, point)).toEqual(notFound);
    // The read API answers a hidden run as it answers a missing one (test/security/read-api.test.ts).
    expect(await v1(key, "GET", `runs/${ours.siblingRunId}`)).toEqual({
      status: 404,
      body: { error: { message: "Run not found" } },
    });
    expect(await v1(key, "POST", `runs/${ours.siblingRunId}/summary`, { notes: "x" })).toEqual(notFound);
    expect(await v1(key, "POST", "runs", { runId: ours.siblingRunId })).toEqual(notFound);
    expect((await v1(key, "POST", "runs", { project: "P", experiment: "elsewhere" })).status).toBe(403);
    expect(await database.db.metricSeries.count({ where: { runId: ours.siblingRunId } })).toBe(0);
  });

  it("through tRPC: its own run is still refused (an ingest key reads nothing there), the sibling is NOT_FOUND", async () => {
    const api = callerFor(database.db, bound);
    expect(await outcome(api.run.get({ runId: ours.runId }))).toBe(
      'FORBIDDEN: An API key with scope "ingest" cannot do this',
    );
    expect(await outcome(api.run.get({ runId: ours.siblingRunId }))).toBe("NOT_FOUND: Run not found");
    expect(await outcome(api.metrics.keys({ runIds: [ours.siblingRunId] }))).toBe("NOT_FOUND: Run not found");
  });
});
