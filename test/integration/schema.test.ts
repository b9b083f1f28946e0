import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prisma } from "../../server/generated/prisma/client.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe("a database migrated by the applier", () => {
  it("serves every model of the schema through the generated client", async () => {
    const { db } = database;
    const user = await db.user.create({ data: { id: "u1", name: "Ada", email: "ada@example.com" } });
    await db.session.create({
      data: { id: "s1", token: "tok", expiresAt: new Date(Date.now() + 3600_000), userId: user.id },
    });
    await db.account.create({
      data: { id: "a1", accountId: user.id, providerId: "credential", userId: user.id, password: "hash" },
    });
    await db.verification.create({
      data: { id: "v1", identifier: "ada@example.com", value: "x", expiresAt: new Date() },
    });
    const team = await db.team.create({ data: { name: "Research", slug: "research" } });
    await db.membership.create({ data: { teamId: team.id, userId: user.id, role: "admin" } });
    await db.invite.create({
      data: { teamId: team.id, role: "viewer", tokenHash: "h1", createdById: user.id, expiresAt: new Date() },
    });
    await db.apiKey.create({
      data: { teamId: team.id, createdById: user.id, name: "ci", prefix: "sb_abc", keyHash: "kh", scope: "ingest" },
    });
    const project = await db.project.create({ data: { teamId: team.id, name: "Scaling", slug: "scaling" } });
    const experiment = await db.experiment.create({ data: { projectId: project.id, name: "mlp-width" } });
    const spec = await db.specVersion.create({
      data: {
        experimentId: experiment.id,
        version: 1,
        source: "name: mlp-width\n",
        resolved: { name: "mlp-width" },
        sourceHash: "s",
      },
    });
    const run = await db.run.create({
      data: {
        experimentId: experiment.id,
        specVersionId: spec.id,
        name: "width=64 seed=0",
        cellHash: "c1",
        config: { params: { width: 64 }, seed: 0 },
        paramCount: 9_007_199_254_740_993n,
        flopsPerStep: 1.5e21,
        tags: ["baseline"],
      },
    });
    const series = await db.metricSeries.create({ data: { runId: run.id, key: "train/loss" } });
    // Triggers copy what the runs table sorts by: the series' experiment, the run's swept parameters.
    expect(series.experimentId).toBe(experiment.id);
    expect(await db.runParam.findMany({ select: { key: true, numberValue: true, textValue: true } })).toEqual([
      { key: "width", numberValue: 64, textValue: "64" },
    ]);
    const written = await ingestPoints(db, run.id, [
      { key: "train/loss", step: 0, value: 2.3, wallTime: 1_700_000_000.5 },
      { key: "train/loss", step: 1, value: Number.NaN },
      { key: "train/loss", step: 2, value: Number.POSITIVE_INFINITY },
    ]);
    expect(written).toEqual({ stored: 3, new: 3, replaced: 0, unchanged: 0 });
    await db.checkpoint.create({
      data: { runId: run.id, attempt: 1, step: 100, data: Buffer.from([1, 2, 3]), sizeBytes: 3 },
    });
    await db.runLog.create({ data: { runId: run.id, line: "epoch 1", stream: "stdout" } });
    await db.worker.create({ data: { name: "host-1", host: "host", pid: 42, slots: 2 } });
    const report = await db.report.create({
      data: { projectId: project.id, title: "Width wins", runIds: [run.id], createdById: user.id },
    });
    await db.shareLink.create({ data: { reportId: report.id, tokenHash: "t1", createdById: user.id } });
    await db.loggedModel.create({
      data: { id: `m-${"a".repeat(32)}`, experimentId: experiment.id, sourceRunId: run.id, name: "model" },
    });

    const loaded = await db.run.findUniqueOrThrow({
      where: { id: run.id },
      include: {
        experiment: { include: { project: { include: { team: true } } } },
        series: { include: { chunks: true } },
        checkpoints: true,
        logs: true,
      },
    });
    expect(loaded.status).toBe("queued");
    expect(loaded.attempt).toBe(0);
    expect(loaded.paramCount).toBe(9_007_199_254_740_993n);
    expect(loaded.config).toEqual({ params: { width: 64 }, seed: 0 });
    expect(loaded.experiment.project.team.slug).toBe("research");
    expect(loaded.series[0]?.chunks.map((chunk) => [chunk.chunk, chunk.count, chunk.minValue])).toEqual([[0, 3, 2.3]]);
    const points = await readLoggedPoints(db, { runId: run.id });
    expect(points.map((point) => point.value)).toEqual([2.3, Number.NaN, Number.POSITIVE_INFINITY]);
    expect(points[0]?.wallTime).toBe(1_700_000_000.5);
    expect(Buffer.from(loaded.checkpoints[0]?.data ?? []).toString("hex")).toBe("010203");
    expect(typeof loaded.logs[0]?.id).toBe("bigint");

    // Every model in the schema was written above.
    const counts = await Promise.all(
      Object.values(Prisma.ModelName).map(async (model) => {
        const delegate = (db as unknown as Record<string, { count: () => Promise<number> }>)[
          model.charAt(0).toLowerCase() + model.slice(1)
        ];
        return [model, await delegate!.count()] as const;
      }),
    );
    expect(counts.filter(([, count]) => count === 0)).toEqual([]);
  });

  it("keeps one point per (series, step), so a retried batch changes nothing", async () => {
    const { db } = database;
    const series = await db.metricSeries.findFirstOrThrow({ where: { key: "train/loss" } });
    const retried = await ingestPoints(db, series.runId, [
      { key: "train/loss", step: 0, value: 2.3, wallTime: 1_700_000_000.5 },
      { key: "train/loss", step: 3, value: 1.9 },
    ]);
    expect(retried).toEqual({ stored: 1, new: 1, replaced: 0, unchanged: 1 });
    const points = await readLoggedPoints(db, { seriesId: series.id });
    expect(points.map((point) => [point.step, point.value, point.wallTime])).toEqual([
      [0, 2.3, 1_700_000_000.5],
      [1, Number.NaN, null],
      [2, Number.POSITIVE_INFINITY, null],
      [3, 1.9, null],
    ]);
    // One chunk row holds them; its key is (series number, chunk).
    await expect(
      db.$executeRaw`INSERT INTO "MetricChunk" ("seriesNumber", chunk, count, "firstStep", "lastStep", "firstValue", "lastValue", "minValue", "maxValue", "sumValue", "pointValues")
        SELECT "seriesNumber", chunk, 0, 0, 0, 0, 0, 0, 0, 0, ''::bytea FROM "MetricChunk"`,
    ).rejects.toThrow();
  });

  it("keeps sweep cells unique per experiment and run statuses to the allowed set", async () => {
    const { db } = database;
    const run = await db.run.findFirstOrThrow();
    await expect(
      db.run.create({ data: { experimentId: run.experimentId, name: "dup", cellHash: run.cellHash, config: {} } }),
    ).rejects.toMatchObject({ code: "P2002" });
    for (const status of ["running", "succeeded", "failed", "canceled", "diverged"] as const) {
      await db.run.update({ where: { id: run.id }, data: { status } });
    }
    await expect(db.$executeRawUnsafe(`UPDATE "Run" SET status = 'exploded' WHERE id = $1`, run.id)).rejects.toThrow();
  });

  it("deleting a run removes its metrics, checkpoints and logs but not its experiment", async () => {
    const { db } = database;
    const run = await db.run.findFirstOrThrow();
    await db.run.delete({ where: { id: run.id } });
    expect(await db.metricSeries.count({ where: { runId: run.id } })).toBe(0);
    expect(await db.metricChunk.count()).toBe(0);
    expect(await db.checkpoint.count()).toBe(0);
    expect(await db.runLog.count()).toBe(0);
    expect(await db.experiment.count({ where: { id: run.experimentId } })).toBe(1);
  });
});
