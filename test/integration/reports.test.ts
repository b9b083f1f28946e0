import { randomBytes } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import type { Actor } from "../../server/domain/access/actor.ts";
import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import type { Prisma } from "../../server/generated/prisma/client.ts";
import type { ReportPanel } from "../../server/domain/report/report-schema.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { runScaleboard, type CliResult } from "../helpers/run-cli.ts";

const WIDTHS = [8, 16, 32, 64];
const STEPS = 20;
/** Loss against parameter count: a power law the fit should recover (alpha 0.5). */
const finalLoss = (params: number) => 0.5 + 30 * params ** -0.5;

let database: TestDatabase;
let editor: Actor;
let viewer: Actor;
let projectId: string;
let otherProjectRunId: string;
let experimentId: string;
const runIds: string[] = [];

const PANELS: ReportPanel[] = [
  { kind: "curves", metric: "val/loss", x: "step", logX: false, logY: true },
  { kind: "scaling", metric: "val/loss", x: "params", fit: true },
  { kind: "table", columns: ["name", "model.width", "paramCount", "val/loss"] },
  { kind: "config-diff" },
];

const api = (actor: Actor | null) => createCaller(createTRPCContext({ db: database.db, actor }));

async function seedRun(width: number, name = `w${width}`): Promise<string> {
  const { db } = database;
  const params = width * width * 4;
  const run = await db.run.create({
    data: {
      experimentId,
      name,
      cellHash: randomBytes(8).toString("hex"),
      config: { params: { "model.width": width }, model: { family: "mlp", width } },
      status: "succeeded",
      paramCount: BigInt(params),
      totalFlops: 6 * params * STEPS,
      wallClockSeconds: width / 10,
    },
    select: { id: true },
  });
  const end = finalLoss(params);
  await ingestPoints(
    db,
    run.id,
    Array.from({ length: STEPS + 1 }, (_, step) => ({
      key: "val/loss",
      step,
      value: end + (2 * (STEPS - step)) / STEPS,
    })),
  );
  return run.id;
}

beforeAll(async () => {
  database = await createTestDatabase();
  const { db } = database;
  const [editorUser, viewerUser] = await Promise.all([createUser(db, "Eddie"), createUser(db, "Vera")]);
  const team = await createTeamWith(db, { [editorUser.id]: "editor", [viewerUser.id]: "viewer" });
  editor = userActor(editorUser.id);
  viewer = userActor(viewerUser.id);
  projectId = (
    await db.project.create({ data: { teamId: team.id, name: "Widths", slug: "widths" }, select: { id: true } })
  ).id;
  experimentId = (await db.experiment.create({ data: { projectId, name: "width-sweep" }, select: { id: true } })).id;
  for (const width of WIDTHS) runIds.push(await seedRun(width));
  const otherProject = await db.project.create({
    data: { teamId: team.id, name: "Other", slug: "other" },
    select: { id: true },
  });
  const otherExperiment = await db.experiment.create({
    data: { projectId: otherProject.id, name: "x" },
    select: { id: true },
  });
  otherProjectRunId = (
    await db.run.create({
      data: { experimentId: otherExperiment.id, name: "elsewhere", cellHash: "c", config: {} },
      select: { id: true },
    })
  ).id;
});

afterAll(async () => {
  await database.drop();
});

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("reports", () => {
  it("reads every panel's data over the chosen runs: curves, the fitted exponent, the table and the runs' configs", async () => {
    const report = await api(editor).report.create({
      projectId,
      title: "Which width wins?",
      body: "# Widths\n\nWider is better.",
      panels: PANELS,
      runIds,
    });
    const { view } = await api(viewer).report.get({ reportId: report.id });
    expect(view.title).toBe("Which width wins?");
    expect(view.runs.map((run) => run.name)).toEqual(["w8", "w16", "w32", "w64"]);
    expect(view.runs[3]!.config).toMatchObject({ model: { width: 64 } });

    const [curves, scaling, table] = view.panels;
    if (curves?.kind !== "curves" || scaling?.kind !== "scaling" || table?.kind !== "table")
      throw new Error("panels out of order");
    expect(curves.series).toHaveLength(4);
    expect(curves.series.every((series) => series.points.length === STEPS + 1)).toBe(true);
    expect(scaling.scaling.fit.ok).toBe(true);
    if (scaling.scaling.fit.ok) expect(scaling.scaling.fit.alpha).toBeCloseTo(0.5, 1);
    expect(table.columns).toEqual(["name", "model.width", "paramCount", "val/loss"]);
    expect(table.rows[0]!.cells).toEqual(["w8", 8, 256, finalLoss(256)]);
  });

  it("refuses runs from outside the report's project, naming the field", async () => {
    const error = await refusal(
      api(editor).report.create({ projectId, title: "Mixed", runIds: [runIds[0]!, otherProjectRunId] }),
    );
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("runIds[1]");
  });

  it("refuses an empty title and an unknown panel kind with the field named", async () => {
    const empty = await refusal(api(editor).report.create({ projectId, title: "   " }));
    expect(empty.code).toBe("BAD_REQUEST");
    expect(empty.message).toContain("title");
    const badPanel = await refusal(
      api(editor).report.create({ projectId, title: "x", panels: [{ kind: "pie" } as unknown as ReportPanel] }),
    );
    expect(badPanel.code).toBe("BAD_REQUEST");
    expect(badPanel.message).toContain("panel kind");
  });

  it("a frozen report keeps what it showed when runs are added or deleted; a live one follows the data", async () => {
    const extra = await seedRun(128, "w128-late");
    const doomed = await seedRun(4, "w4-doomed");
    const chosen = [...runIds, doomed];
    const frozen = await api(editor).report.create({ projectId, title: "Frozen", panels: PANELS, runIds: chosen });
    const live = await api(editor).report.create({ projectId, title: "Live", panels: PANELS, runIds: chosen });
    await api(editor).report.publish({ reportId: frozen.id, mode: "frozen" });
    await api(editor).report.publish({ reportId: live.id, mode: "live" });
    const published = (await api(editor).report.get({ reportId: frozen.id })).report;
    expect(published.updatedAt).toEqual(published.publishedAt);
    const frozenLink = await api(editor).report.createLink({ reportId: frozen.id });
    const before = await api(null).sharedReport.view({ token: frozenLink.token });

    // Later: a run is deleted, another run gets more points, the editor adds a run to the draft.
    await database.db.run.delete({ where: { id: doomed } });
    await ingestPoints(database.db, runIds[0]!, [{ key: "val/loss", step: STEPS + 1, value: 0.01 }]);
    await api(editor).report.update({ reportId: frozen.id, runIds: [...runIds, extra], title: "Frozen, edited" });

    const edited = (await api(editor).report.get({ reportId: frozen.id })).report;
    expect(edited.updatedAt.getTime()).toBeGreaterThan(edited.publishedAt!.getTime());
    const after = await api(null).sharedReport.view({ token: frozenLink.token });
    expect(after).toEqual(before);
    expect(after.runs.map((run) => run.name)).toContain("w4-doomed");
    expect(after.title).toBe("Frozen");

    const liveView = (await api(viewer).report.get({ reportId: live.id })).view;
    expect(liveView.runs.map((run) => run.name)).not.toContain("w4-doomed");
    expect(liveView.missingRunCount).toBe(1);
    const liveCurves = liveView.panels[0];
    if (liveCurves?.kind !== "curves") throw new Error("expected curves");
    expect(liveCurves.series.find((series) => series.runId === runIds[0])!.points.at(-1)).toEqual({
      x: STEPS + 1,
      y: 0.01,
    });

    // Publishing again freezes the current draft.
    await api(editor).report.publish({ reportId: frozen.id, mode: "frozen" });
    const republished = await api(null).sharedReport.view({ token: frozenLink.token });
    expect(republished.title).toBe("Frozen, edited");
    expect(republished.runs.map((run) => run.name)).toContain("w128-late");
  });

  it("stores a frozen snapshot with its version, reads one stored before versions as version 1, and refuses an unknown version by name", async () => {
    const report = await api(editor).report.create({ projectId, title: "Versioned", panels: PANELS, runIds });
    await api(editor).report.publish({ reportId: report.id, mode: "frozen" });
    const { token } = await api(editor).report.createLink({ reportId: report.id });
    const stored = (
      await database.db.report.findUniqueOrThrow({ where: { id: report.id }, select: { snapshot: true } })
    ).snapshot as Prisma.JsonObject;
    expect(stored.version).toBe(1);
    const shown = await api(null).sharedReport.view({ token });

    const { version: _version, ...unversioned } = stored;
    await database.db.report.update({ where: { id: report.id }, data: { snapshot: unversioned } });
    expect(await api(null).sharedReport.view({ token })).toEqual(shown);

    await database.db.report.update({ where: { id: report.id }, data: { snapshot: { ...stored, version: 7 } } });
    const refused = await refusal(api(null).sharedReport.view({ token }));
    expect(refused.code).toBe("CONFLICT");
    expect(refused.message).toMatch(/frozen snapshot is version 7, which this version of Scaleboard cannot read/);
    expect((await refusal(api(viewer).report.get({ reportId: report.id }))).message).toBe(refused.message);
  });

  it("stores only a hash of the share token, with 256 bits of randomness in the token", async () => {
    const report = await api(editor).report.create({ projectId, title: "Hashed", runIds });
    await api(editor).report.publish({ reportId: report.id, mode: "live" });
    const created = await api(editor).report.createLink({ reportId: report.id });
    expect(created.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.path).toBe(`/r/${created.token}`);
    const stored = await database.db.shareLink.findUniqueOrThrow({ where: { id: created.link.id } });
    expect(stored.tokenHash).not.toContain(created.token);
    const everything = JSON.stringify(await database.db.$queryRaw`SELECT * FROM "ShareLink"`);
    expect(everything).not.toContain(created.token);
    expect(JSON.stringify(await api(editor).report.links({ reportId: report.id }))).not.toContain(created.token);
    const second = await api(editor).report.createLink({ reportId: report.id });
    expect(second.token).not.toBe(created.token);
  });

  it("refuses a revoked link, an expired link, a link to an unpublished report and a made-up token alike", async () => {
    const report = await api(editor).report.create({ projectId, title: "Shared", runIds, panels: PANELS.slice(0, 1) });
    const notYet = await refusal(api(editor).report.createLink({ reportId: report.id }));
    expect(notYet.message).toMatch(/Publish the report/);
    await api(editor).report.publish({ reportId: report.id, mode: "live" });
    const revoked = await api(editor).report.createLink({ reportId: report.id });
    const expiring = await api(editor).report.createLink({ reportId: report.id, expiresInHours: 1 });
    const kept = await api(editor).report.createLink({ reportId: report.id });

    expect((await api(null).sharedReport.view({ token: revoked.token })).title).toBe("Shared");
    await api(editor).report.revokeLink({ reportId: report.id, linkId: revoked.link.id });
    await database.db.shareLink.update({
      where: { id: expiring.link.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });

    const refused = await Promise.all([
      refusal(api(null).sharedReport.view({ token: revoked.token })),
      refusal(api(null).sharedReport.view({ token: expiring.token })),
      refusal(api(null).sharedReport.view({ token: randomBytes(32).toString("base64url") })),
      refusal(api(null).sharedReport.view({ token: "short" })),
    ]);
    expect(new Set(refused.map((error) => `${error.code} ${error.message}`)).size).toBe(1);
    expect(refused[0]!.code).toBe("NOT_FOUND");

    expect((await api(null).sharedReport.view({ token: kept.token })).title).toBe("Shared");
    await api(editor).report.unpublish({ reportId: report.id });
    expect((await refusal(api(null).sharedReport.view({ token: kept.token }))).code).toBe("NOT_FOUND");

    const links = await api(editor).report.links({ reportId: report.id });
    expect(links.find((link) => link.id === revoked.link.id)?.revokedAt).toBeInstanceOf(Date);
    expect(links.find((link) => link.id === kept.link.id)?.lastViewedAt).toBeInstanceOf(Date);
  });

  it("the shared view holds only the report's runs, not the project's others", async () => {
    const report = await api(editor).report.create({
      projectId,
      title: "Two runs",
      runIds: runIds.slice(0, 2),
      panels: PANELS,
    });
    await api(editor).report.publish({ reportId: report.id, mode: "live" });
    const { token } = await api(editor).report.createLink({ reportId: report.id });
    const view = await api(null).sharedReport.view({ token });
    const shown = JSON.stringify(view);
    expect(view.runs.map((run) => run.id)).toEqual(runIds.slice(0, 2));
    for (const hidden of [...runIds.slice(2), otherProjectRunId, projectId]) expect(shown).not.toContain(hidden);
  });

  it("lets viewers read and refuses their edits", async () => {
    const report = await api(editor).report.create({ projectId, title: "Read me", runIds });
    expect((await api(viewer).report.list({ projectId })).map((entry) => entry.title)).toContain("Read me");
    expect((await refusal(api(viewer).report.update({ reportId: report.id, title: "Mine" }))).code).toBe("FORBIDDEN");
    expect((await refusal(api(viewer).report.publish({ reportId: report.id, mode: "live" }))).code).toBe("FORBIDDEN");
  });
});

describe("scaleboard report create --from-spec", () => {
  let cliDatabase: TestDatabase;
  beforeAll(async () => {
    cliDatabase = await createTestDatabase();
  });
  afterAll(async () => {
    await cliDatabase.drop();
  });

  function cli(...args: string[]): Promise<CliResult> {
    return runScaleboard(args, {
      DATABASE_URL: cliDatabase.url,
      SCALEBOARD_AUTH: "",
      SCALEBOARD_PUBLIC_URL: "http://reports.example",
    });
  }

  it("builds a report from the panels the spec declares, over the experiment's runs, and shares it", async () => {
    const before = await cli("report", "create", "--from-spec", "examples/mlp-width-scaling.yaml");
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('No project "Scaling laws"');

    expect((await cli("apply", "examples/mlp-width-scaling.yaml", "--yes")).code).toBe(0);
    const result = await cli(
      "report",
      "create",
      "--from-spec",
      "examples/mlp-width-scaling.yaml",
      "--share",
      "--expires-in-hours",
      "48",
      "--json",
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout) as {
      reportId: string;
      runs: number;
      panels: number;
      published: string;
      shareUrl: string;
    };
    expect(created).toMatchObject({ runs: 21, panels: 3, published: "live" });
    expect(created.shareUrl).toMatch(/^http:\/\/reports\.example\/r\/[A-Za-z0-9_-]{43}$/);

    const report = await cliDatabase.db.report.findUniqueOrThrow({ where: { id: created.reportId } });
    expect(report.title).toBe("mlp-width: results");
    expect((report.panels as { kind: string }[]).map((panel) => panel.kind)).toEqual(["curves", "scaling", "table"]);
    const token = created.shareUrl.split("/r/")[1]!;
    const shared = await createCaller(createTRPCContext({ db: cliDatabase.db, actor: null })).sharedReport.view({
      token,
    });
    expect(shared.runs).toHaveLength(21);
    const link = await cliDatabase.db.shareLink.findFirstOrThrow({ where: { reportId: report.id } });
    expect(link.expiresAt!.getTime() - Date.now()).toBeGreaterThan(47 * 3_600_000);
  });

  it("refuses bad usage with exit code 2, naming the option", async () => {
    const result = await cli(
      "report",
      "create",
      "--from-spec",
      "examples/mlp-width-scaling.yaml",
      "--publish",
      "sometimes",
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--publish must be live or frozen");
  });
});
