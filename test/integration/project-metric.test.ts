import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { createTrackedRun, finishTrackedRun } from "../../server/domain/tracking/track-run.ts";
import { callerFor, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * A project's metric setting (issue #17): runs logged without a spec under `val_loss` are read by
 * that key wherever val/loss was assumed (run page, runs table, compare, scaling view and analysis);
 * a spec naming its own metric still wins, one leaving it out does not hide the project's.
 */

let database: TestDatabase;
let teamId: string;
let editor: ReturnType<typeof callerFor>;
let viewer: ReturnType<typeof callerFor>;
let projectId: string;
let experimentId: string;
const runIds: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const db = database.db;
  const [editorUser, viewerUser] = [await createUser(db), await createUser(db)];
  teamId = (await createTeamWith(db, { [editorUser.id]: "editor", [viewerUser.id]: "viewer" })).id;
  editor = callerFor(db, userActor(editorUser.id));
  viewer = callerFor(db, userActor(viewerUser.id));
  // Three sizes logging val_loss (as Keras and many scripts name it), and one without a paramCount.
  for (const [name, paramCount] of [
    ["small", 1e5],
    ["medium", 1e6],
    ["large", 1e7],
    ["unsized", undefined],
  ] as const) {
    const run = await createTrackedRun(db, teamId, {
      project: "Keras",
      experiment: "widths",
      name,
      config: {},
      tags: [],
      ...(paramCount ? { paramCount } : {}),
    });
    const loss = 2 + 10 * (paramCount ?? 1e6) ** -0.3;
    await ingestPoints(db, run.runId, [
      { key: "val_loss", step: 1, value: loss + 0.5 },
      { key: "val_loss", step: 2, value: loss },
      { key: "train/loss", step: 2, value: loss - 0.1 },
    ]);
    await finishTrackedRun(db, teamId, run.runId, { status: "succeeded" });
    runIds.push(run.runId);
    experimentId = run.experimentId;
  }
  projectId = (await db.experiment.findUniqueOrThrow({ where: { id: experimentId }, select: { projectId: true } }))
    .projectId;
});

afterAll(async () => {
  await database?.drop();
});

describe("a project's metric", () => {
  it("is val/loss until set; editors set it, viewers cannot, and a bad name is refused naming the field", async () => {
    expect((await viewer.project.get({ projectId })).metric).toBeNull();
    expect(await viewer.experiment.metric({ experimentId })).toEqual({
      name: "val/loss",
      goal: "min",
      source: "default",
    });
    await expect(
      viewer.project.setMetric({ projectId, metric: { name: "val_loss", goal: "min" } }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await expect(editor.project.setMetric({ projectId, metric: { name: " ", goal: "min" } })).rejects.toThrow(/metric/);
    expect(await editor.project.setMetric({ projectId, metric: { name: "val_loss", goal: "min" } })).toEqual({
      projectId,
      metric: { name: "val_loss", goal: "min" },
    });
    expect((await viewer.project.get({ projectId })).metric).toEqual({ name: "val_loss", goal: "min" });
    expect(await viewer.experiment.metric({ experimentId })).toEqual({
      name: "val_loss",
      goal: "min",
      source: "project",
    });
  });

  it("leads the run page, fills the runs table and compare, and is the scaling view's and analysis' loss", async () => {
    const run = await viewer.run.get({ runId: runIds[0]! });
    expect(run.metric).toEqual({ name: "val_loss", goal: "min", source: "project" });
    expect(run.metrics[0]).toMatchObject({ key: "val_loss", lastValue: 2 + 10 * 1e5 ** -0.3 });

    const table = await viewer.runsTable.list({ experimentIds: [experimentId] });
    expect(table.metric).toEqual({ name: "val_loss", goal: "min" });
    expect(table.rows.every((row) => row.finalMetric !== null && row.bestMetric === row.finalMetric)).toBe(true);
    const compared = await viewer.runsTable.list({ filter: { runIds } });
    expect(compared.metric.name).toBe("val_loss");
    expect(compared.rows).toHaveLength(4);

    const view = await viewer.scaling.view({ experimentId, resamples: 0 });
    expect(view.metric).toBe("val_loss");
    expect(view.runs.map((entry) => entry.name).sort()).toEqual(["large", "medium", "small"]);
    expect(view.skipped).toEqual([{ runId: runIds[3], name: "unsized", reason: "no paramCount" }]);
    expect(view.fit.ok).toBe(true);
    const compare = await viewer.scaling.compare({ runIds, resamples: 0 });
    expect(compare.metric).toBe("val_loss");

    const analysis = await viewer.scaling.analysis({ experimentId });
    expect(analysis.metric).toBe("val_loss");
    expect(analysis.runs.excluded).toEqual([{ runId: runIds[3], name: "unsized", reason: "no paramCount" }]);
  });

  it("gives way to a spec that names a metric, not to one that leaves it out; cleared, views use val/loss", async () => {
    const db = database.db;
    const spec = (version: number, source: string, metric: { name: string; goal: "min" | "max" }) =>
      db.specVersion.create({
        data: { experimentId, version, source, resolved: { metric }, sourceHash: `hash-${version}` },
      });
    await spec(1, "name: widths\n", { name: "val/loss", goal: "min" });
    expect((await viewer.experiment.metric({ experimentId })).source).toBe("project");
    await spec(2, "name: widths\nmetric: { name: val/acc, goal: max }\n", { name: "val/acc", goal: "max" });
    expect(await viewer.experiment.metric({ experimentId })).toEqual({ name: "val/acc", goal: "max", source: "spec" });
    expect((await viewer.runsTable.list({ experimentIds: [experimentId] })).metric).toEqual({
      name: "val/acc",
      goal: "max",
    });
    await db.specVersion.deleteMany({ where: { experimentId } });

    await editor.project.setMetric({ projectId, metric: null });
    expect(await viewer.experiment.metric({ experimentId })).toEqual({
      name: "val/loss",
      goal: "min",
      source: "default",
    });
    const view = await viewer.scaling.view({ experimentId, resamples: 0 });
    expect(view.metric).toBe("val/loss");
    expect(view.runs).toEqual([]);
    expect(view.skipped.map((entry) => entry.reason)).toContain("no val/loss value");
  });
});
