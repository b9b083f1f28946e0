import { randomBytes } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter, createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import type { Actor } from "../../server/domain/access/actor.ts";
import { resolveRequestAuth } from "../../server/auth/resolve-request-auth.ts";
import { authorizeKeyUse } from "../../server/domain/access/resolve-team-access.ts";
import { createInvite } from "../../server/domain/invite/create-invite.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { createShareLink } from "../../server/domain/report/share-links.ts";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, keyActor, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * The contract every procedure signs: for each actor, allowed or refused. It enumerates
 * appRouter itself, so a procedure added without an entry here fails this test.
 */

// share-link: someone holding a report's share token and nothing else, presenting it as a credential.
const ACTORS = [
  "anonymous",
  "viewer",
  "editor",
  "admin",
  "outsider",
  "key:ingest",
  "key:worker",
  "key:full",
  "share-link",
] as const;
type ActorName = (typeof ACTORS)[number];

let database: TestDatabase;
let queue: { queue: RunQueue; stop: () => Promise<void> };
beforeAll(async () => {
  database = await createTestDatabase();
  queue = await startProducerQueue(database.url);
});
afterAll(async () => {
  await queue.stop();
  await database.drop();
});

const SPEC = (experiment: string) => `project: Matrix
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4 }
model: { family: mlp, width: 8 }
training: { optimizer: { lr: 0.01 }, budget: { steps: 10 } }
sweep: { parameters: { model.width: [4, 8] } }
`;

type Fixture = Awaited<ReturnType<typeof buildFixture>>;

/** A fresh team with one member of each role, an outsider in another team, a project, an invite and a key. */
async function buildFixture() {
  const { db } = database;
  const [viewer, editor, admin, outsider] = await Promise.all(
    ["Vera", "Eddie", "Ada", "Otto"].map((name) => createUser(db, name)),
  );
  const team = await createTeamWith(db, { [viewer!.id]: "viewer", [editor!.id]: "editor", [admin!.id]: "admin" });
  const otherTeam = await createTeamWith(db, { [outsider!.id]: "admin" });
  const project = await db.project.create({
    data: { teamId: team.id, name: "Scaling", slug: `scaling-${randomBytes(3).toString("hex")}` },
    select: { id: true },
  });
  const invite = await createInvite(db, team.id, admin!.id, { role: "viewer", expiresInHours: 24 });
  const key = await createApiKey(db, team.id, admin!.id, { name: "existing", scope: "ingest" });
  const experiment = await db.experiment.create({ data: { projectId: project.id, name: "exp" }, select: { id: true } });
  for (const version of [1, 2]) {
    await db.specVersion.create({
      data: {
        experimentId: experiment.id,
        version,
        source: SPEC(`v${version}`),
        resolved: {},
        sourceHash: `h${version}`,
      },
    });
  }
  const actors: Record<ActorName, Actor | null> = {
    anonymous: null,
    viewer: userActor(viewer!.id),
    editor: userActor(editor!.id),
    admin: userActor(admin!.id),
    outsider: userActor(outsider!.id),
    "key:ingest": await keyActor(db, team.id, admin!.id, "ingest"),
    "key:worker": await keyActor(db, team.id, admin!.id, "worker"),
    "key:full": await keyActor(db, team.id, admin!.id, "full"),
    "share-link": null,
  };
  const run = await db.run.create({
    data: { experimentId: experiment.id, name: "r", cellHash: randomBytes(8).toString("hex"), config: {} },
    select: { id: true },
  });
  await db.runLog.create({ data: { runId: run.id, line: "hello" } });
  const report = await db.report.create({
    data: { projectId: project.id, title: "Shared", runIds: [run.id], publishedAt: new Date() },
    select: { id: true },
  });
  const share = await createShareLink(db, report.id, admin!.id, {});
  const holder = await resolveRequestAuth(db, new Headers({ authorization: `Bearer ${share.token}` }), {
    method: "POST",
    mode: "on",
    lookupSession: async () => null,
  });
  actors["share-link"] = holder.actor;
  return {
    team,
    otherTeam,
    project,
    experiment,
    run,
    report,
    share,
    users: { viewer: viewer!, editor: editor!, admin: admin!, outsider: outsider! },
    invite,
    key,
    actors,
  };
}

const EVERYONE = ACTORS;
const PEOPLE: ActorName[] = ["viewer", "editor", "admin", "outsider"];
const TEAM_READERS: ActorName[] = ["viewer", "editor", "admin", "key:full"];
const TEAM_EDITORS: ActorName[] = ["editor", "admin", "key:full"];
const TEAM_ADMINS: ActorName[] = ["admin"];

type Entry = {
  input: (fixture: Fixture) => unknown;
  allow: readonly ActorName[];
  scope?: "team" | "project" | "experiment" | "run" | "report";
};

const MATRIX: Record<string, Entry> = {
  "health.status": { input: () => undefined, allow: EVERYONE },
  "viewer.session": { input: () => undefined, allow: EVERYONE },
  "team.list": { input: () => undefined, allow: PEOPLE },
  "team.create": { input: () => ({ name: "Another team" }), allow: PEOPLE },
  "team.get": { input: (f) => ({ teamId: f.team.id }), allow: TEAM_READERS, scope: "team" },
  "team.members": { input: (f) => ({ teamId: f.team.id }), allow: TEAM_READERS, scope: "team" },
  "team.changeRole": {
    input: (f) => ({ teamId: f.team.id, userId: f.users.viewer.id, role: "editor" }),
    allow: TEAM_ADMINS,
    scope: "team",
  },
  "team.removeMember": {
    input: (f) => ({ teamId: f.team.id, userId: f.users.viewer.id }),
    allow: TEAM_ADMINS,
    scope: "team",
  },
  "team.unlockSignIn": {
    input: (f) => ({ teamId: f.team.id, userId: f.users.viewer.id }),
    allow: TEAM_ADMINS,
    scope: "team",
  },
  "team.rename": { input: (f) => ({ teamId: f.team.id, name: "Renamed" }), allow: TEAM_ADMINS, scope: "team" },
  "team.delete": { input: (f) => ({ teamId: f.team.id }), allow: TEAM_ADMINS, scope: "team" },
  "invite.create": { input: (f) => ({ teamId: f.team.id, role: "editor" }), allow: TEAM_ADMINS, scope: "team" },
  "invite.list": { input: (f) => ({ teamId: f.team.id }), allow: TEAM_ADMINS, scope: "team" },
  "invite.revoke": {
    input: (f) => ({ teamId: f.team.id, inviteId: f.invite.invite.id }),
    allow: TEAM_ADMINS,
    scope: "team",
  },
  "invite.preview": { input: (f) => ({ token: f.invite.token }), allow: EVERYONE },
  "invite.accept": { input: (f) => ({ token: f.invite.token }), allow: PEOPLE },
  "apiKey.create": {
    input: (f) => ({ teamId: f.team.id, name: "ci", scope: "ingest" }),
    allow: TEAM_ADMINS,
    scope: "team",
  },
  "apiKey.list": { input: (f) => ({ teamId: f.team.id }), allow: TEAM_ADMINS, scope: "team" },
  "apiKey.revoke": { input: (f) => ({ teamId: f.team.id, keyId: f.key.apiKey.id }), allow: TEAM_ADMINS, scope: "team" },
  "project.list": { input: (f) => ({ teamId: f.team.id }), allow: TEAM_READERS, scope: "team" },
  "project.get": { input: (f) => ({ projectId: f.project.id }), allow: TEAM_READERS, scope: "project" },
  "experiment.list": { input: (f) => ({ projectId: f.project.id }), allow: TEAM_READERS, scope: "project" },
  "project.setMetric": {
    input: (f) => ({ projectId: f.project.id, metric: { name: "val_loss", goal: "min" } }),
    allow: TEAM_EDITORS,
    scope: "project",
  },
  "experiment.metric": { input: (f) => ({ experimentId: f.experiment.id }), allow: TEAM_READERS, scope: "experiment" },
  "spec.validate": {
    input: () => ({ source: SPEC("x") }),
    allow: ["viewer", "editor", "admin", "outsider", "key:ingest", "key:worker", "key:full"],
  },
  "spec.plan": { input: (f) => ({ teamId: f.team.id, source: SPEC("planned") }), allow: TEAM_READERS, scope: "team" },
  "spec.applySpec": {
    input: (f) => ({ teamId: f.team.id, source: SPEC(`applied-${randomBytes(3).toString("hex")}`) }),
    allow: TEAM_EDITORS,
    scope: "team",
  },
  "spec.versions": { input: (f) => ({ experimentId: f.experiment.id }), allow: TEAM_READERS, scope: "experiment" },
  "spec.get": {
    input: (f) => ({ experimentId: f.experiment.id, version: 1 }),
    allow: TEAM_READERS,
    scope: "experiment",
  },
  "spec.diff": {
    input: (f) => ({ experimentId: f.experiment.id, from: 1, to: 2 }),
    allow: TEAM_READERS,
    scope: "experiment",
  },
  "run.list": { input: (f) => ({ experimentId: f.experiment.id }), allow: TEAM_READERS, scope: "experiment" },
  "run.cancel": { input: (f) => ({ runId: f.run.id }), allow: TEAM_EDITORS, scope: "run" },
  "run.cancelExperiment": {
    input: (f) => ({ experimentId: f.experiment.id }),
    allow: TEAM_EDITORS,
    scope: "experiment",
  },
  "run.logs": { input: (f) => ({ runId: f.run.id }), allow: TEAM_READERS, scope: "run" },
  "run.get": { input: (f) => ({ runId: f.run.id }), allow: TEAM_READERS, scope: "run" },
  "scaling.view": {
    input: (f) => ({ experimentId: f.experiment.id, resamples: 0 }),
    allow: TEAM_READERS,
    scope: "experiment",
  },
  "scaling.analysis": {
    input: (f) => ({ experimentId: f.experiment.id }),
    allow: TEAM_READERS,
    scope: "experiment",
  },
  "scaling.compare": { input: (f) => ({ runIds: [f.run.id], resamples: 0 }), allow: TEAM_READERS, scope: "run" },
  "metrics.series": { input: (f) => ({ runIds: [f.run.id], key: "train/loss" }), allow: TEAM_READERS, scope: "run" },
  "metrics.keys": { input: (f) => ({ runIds: [f.run.id] }), allow: TEAM_READERS, scope: "run" },
  "runsTable.list": { input: (f) => ({ experimentIds: [f.experiment.id] }), allow: TEAM_READERS, scope: "experiment" },
  "runsTable.groups": {
    input: (f) => ({ experimentIds: [f.experiment.id], groupBy: "model.width" }),
    allow: TEAM_READERS,
    scope: "experiment",
  },
  "runsTable.configDiff": { input: (f) => ({ runIds: [f.run.id] }), allow: TEAM_READERS, scope: "run" },
  "runsTable.annotate": { input: (f) => ({ runId: f.run.id, notes: "looks good" }), allow: TEAM_EDITORS, scope: "run" },
  "hyperparameters.sweep": {
    input: (f) => ({ experimentId: f.experiment.id }),
    allow: TEAM_READERS,
    scope: "experiment",
  },
  "live.runEvents": { input: (f) => ({ experimentIds: [f.experiment.id] }), allow: TEAM_READERS, scope: "experiment" },
  "report.list": { input: (f) => ({ projectId: f.project.id }), allow: TEAM_READERS, scope: "project" },
  "report.candidates": { input: (f) => ({ projectId: f.project.id }), allow: TEAM_READERS, scope: "project" },
  "report.preview": {
    input: (f) => ({ projectId: f.project.id, panels: [{ kind: "config-diff" }], runIds: [f.run.id] }),
    allow: TEAM_READERS,
    scope: "project",
  },
  "report.create": {
    input: (f) => ({ projectId: f.project.id, title: "New report", runIds: [f.run.id] }),
    allow: TEAM_EDITORS,
    scope: "project",
  },
  "report.get": { input: (f) => ({ reportId: f.report.id }), allow: TEAM_READERS, scope: "report" },
  "report.update": { input: (f) => ({ reportId: f.report.id, title: "Edited" }), allow: TEAM_EDITORS, scope: "report" },
  "report.delete": { input: (f) => ({ reportId: f.report.id }), allow: TEAM_EDITORS, scope: "report" },
  "report.publish": { input: (f) => ({ reportId: f.report.id, mode: "frozen" }), allow: TEAM_EDITORS, scope: "report" },
  "report.unpublish": { input: (f) => ({ reportId: f.report.id }), allow: TEAM_EDITORS, scope: "report" },
  "report.createLink": {
    input: (f) => ({ reportId: f.report.id, expiresInHours: 24 }),
    allow: TEAM_EDITORS,
    scope: "report",
  },
  "report.links": { input: (f) => ({ reportId: f.report.id }), allow: TEAM_EDITORS, scope: "report" },
  "report.revokeLink": {
    input: (f) => ({ reportId: f.report.id, linkId: f.share.link.id }),
    allow: TEAM_EDITORS,
    scope: "report",
  },
  // The token is the whole credential: whoever holds it, signed in or not, reads that one report.
  "sharedReport.view": { input: (f) => ({ token: f.share.token }), allow: EVERYONE },
  "project.create": {
    input: (f) => ({ teamId: f.team.id, name: `New ${randomBytes(3).toString("hex")}` }),
    allow: TEAM_EDITORS,
    scope: "team",
  },
};

const procedures = Object.keys(appRouter._def.procedures).sort();

/**
 * The one answer a refused actor gets: no credential is UNAUTHORIZED; someone outside the team is
 * told the thing does not exist (NOT_FOUND, so ids cannot be probed); anyone inside it who may not
 * do this (a lower role, a key of the wrong scope) is FORBIDDEN.
 */
function refusal(actorName: ActorName, entry: Entry): string {
  if (actorName === "anonymous" || actorName === "share-link") return "UNAUTHORIZED";
  if (actorName === "outsider" && entry.scope) return "NOT_FOUND";
  return "FORBIDDEN";
}

function call(actor: Actor | null, path: string, input: unknown): Promise<unknown> {
  const caller = createCaller(
    createTRPCContext({ db: database.db, actor, queue: async () => queue.queue }),
  ) as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
  const [namespace, name] = path.split(".");
  return caller[namespace!]![name!]!(input);
}

async function outcome(
  promise: Promise<unknown>,
): Promise<{ ok: true; value: unknown } | { ok: false; code: string; message: string }> {
  try {
    const value = await promise;
    // A subscription that was allowed: close the stream it opened.
    if (value && typeof value === "object" && Symbol.asyncIterator in value) {
      await (value as unknown as AsyncIterator<unknown>).return?.();
      return { ok: true, value: null };
    }
    return { ok: true, value };
  } catch (error) {
    if (error instanceof TRPCError) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
}

describe("authorization matrix", () => {
  it("has an entry for every procedure of appRouter, and none for procedures that do not exist", () => {
    expect(procedures.filter((path) => !(path in MATRIX))).toEqual([]);
    expect(Object.keys(MATRIX).filter((path) => !procedures.includes(path))).toEqual([]);
  });

  for (const path of procedures) {
    it(`${path}: allows ${MATRIX[path]?.allow.join(", ") || "nobody"} and refuses everyone else`, async () => {
      const entry = MATRIX[path];
      if (!entry) throw new Error(`No matrix entry for ${path}`);
      for (const actorName of ACTORS) {
        const fixture = await buildFixture();
        const result = await outcome(call(fixture.actors[actorName], path, entry.input(fixture)));
        const expected = entry.allow.includes(actorName);
        if (expected) {
          expect(result, `${actorName} should be allowed to call ${path}`).toMatchObject({ ok: true });
          const shown =
            JSON.stringify(result.ok ? result.value : null, (_key, value: unknown) =>
              typeof value === "bigint" ? String(value) : value,
            ) ?? "";
          expect(shown, `${path} leaked a secret`).not.toMatch(
            /keyHash|tokenHash|"password"|accessToken|refreshToken|idToken/,
          );
        } else {
          expect(result.ok ? "allowed" : result.code, `${actorName} calling ${path}`).toBe(refusal(actorName, entry));
        }
      }
    });
  }

  it("answers an outsider exactly as it answers for a team or project that does not exist", async () => {
    const fixture = await buildFixture();
    for (const [path, entry] of Object.entries(MATRIX)) {
      if (!entry.scope) continue;
      const real = entry.input(fixture) as Record<string, unknown>;
      const missingKey = {
        team: "teamId",
        project: "projectId",
        experiment: "experimentId",
        run: "runId",
        report: "reportId",
      }[entry.scope];
      const missing = { ...real, [missingKey]: "does-not-exist" };
      const asOutsider = await outcome(call(fixture.actors.outsider, path, real));
      const forMissing = await outcome(call(fixture.actors.outsider, path, missing));
      expect(asOutsider, path).toEqual(forMissing);
    }
  });

  it("refuses a full-scope key on another team's data as not found", async () => {
    const fixture = await buildFixture();
    const foreignKey = await keyActor(database.db, fixture.otherTeam.id, fixture.users.outsider.id, "full");
    const result = await outcome(call(foreignKey, "project.list", { teamId: fixture.team.id }));
    expect(result).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });

  it("lets a full key act only as its creator's current role: a demoted creator's key reads but cannot write", async () => {
    const fixture = await buildFixture();
    const { db } = database;
    const creator = await createUser(db, "Carla");
    await db.membership.create({ data: { teamId: fixture.team.id, userId: creator.id, role: "editor" } });
    const fullKey = await keyActor(db, fixture.team.id, creator.id, "full");
    const write = () =>
      call(fullKey, "project.create", { teamId: fixture.team.id, name: `P ${randomBytes(3).toString("hex")}` });
    expect(await outcome(write())).toMatchObject({ ok: true });
    await db.membership.update({
      where: { teamId_userId: { teamId: fixture.team.id, userId: creator.id } },
      data: { role: "viewer" },
    });
    expect(await outcome(call(fullKey, "project.list", { teamId: fixture.team.id }))).toMatchObject({ ok: true });
    expect(await outcome(write())).toMatchObject({ ok: false, code: "FORBIDDEN" });
  });

  it("checks keys for /api/v1 and the worker API by scope and by their creator's current role", async () => {
    const fixture = await buildFixture();
    const { db } = database;
    const creator = await createUser(db, "Ines");
    await db.membership.create({ data: { teamId: fixture.team.id, userId: creator.id, role: "editor" } });
    const full = (await keyActor(db, fixture.team.id, creator.id, "full")) as Extract<Actor, { kind: "apiKey" }>;
    const ingest = (await keyActor(db, fixture.team.id, creator.id, "ingest")) as Extract<Actor, { kind: "apiKey" }>;
    await expect(authorizeKeyUse(db, full, "ingest")).resolves.toBeUndefined();
    await expect(authorizeKeyUse(db, full, "worker")).resolves.toBeUndefined();
    await expect(authorizeKeyUse(db, ingest, "worker")).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringMatching(/cannot run a worker/),
    });
    await db.membership.update({
      where: { teamId_userId: { teamId: fixture.team.id, userId: creator.id } },
      data: { role: "viewer" },
    });
    await expect(authorizeKeyUse(db, full, "ingest")).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringMatching(/acts as a viewer/),
    });
    await expect(authorizeKeyUse(db, ingest, "ingest")).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(authorizeKeyUse(db, full, "ingest", "viewer")).resolves.toBeUndefined();
    await db.membership.delete({ where: { teamId_userId: { teamId: fixture.team.id, userId: creator.id } } });
    await expect(authorizeKeyUse(db, full, "ingest", "viewer")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("refuses every use of a key whose creator has left the team as an invalid key", async () => {
    const fixture = await buildFixture();
    const { db } = database;
    const creator = await createUser(db, "Lea");
    await db.membership.create({ data: { teamId: fixture.team.id, userId: creator.id, role: "admin" } });
    const { key } = await createApiKey(db, fixture.team.id, creator.id, { name: "leaver", scope: "full" });
    const bearer = () =>
      resolveRequestAuth(db, new Headers({ authorization: `Bearer ${key}` }), {
        method: "GET",
        mode: "on",
        lookupSession: async () => null,
      });
    const before = await bearer();
    expect(before.actor).toMatchObject({ kind: "apiKey", scope: "full" });
    expect(await outcome(call(before.actor, "project.list", { teamId: fixture.team.id }))).toMatchObject({ ok: true });
    await db.membership.delete({ where: { teamId_userId: { teamId: fixture.team.id, userId: creator.id } } });
    const after = await bearer();
    expect(after).toMatchObject({ actor: null, authError: "Invalid, expired or revoked API key" });
    // An actor resolved before the removal is refused too, as unauthorized.
    expect(await outcome(call(before.actor, "project.list", { teamId: fixture.team.id }))).toMatchObject({
      ok: false,
      code: "UNAUTHORIZED",
    });
  });
});
