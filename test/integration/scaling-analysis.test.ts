import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { predictJoint } from "../../server/domain/scaling/fit-joint-scaling-law.ts";
import { readScalingAnalysis, ZScalingAnalysis } from "../../server/domain/scaling/scaling-analysis.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

// An IsoFLOP study as the trainer leaves it: width sweeps at three budgets, each run's val/loss
// logged along training, sizes, FLOPs, samples and clean training time on the row.
const TRUTH = { E: 1, A: 20, B: 20, alpha: 0.3, beta: 0.3 };
const WIDTHS = [8, 16, 32, 64, 128];
const BUDGETS = [1e9, 4e9, 1.6e10];
const BATCH = 32;
const paramsOf = (width: number) => 12 * width * width;

let database: TestDatabase;
let experimentId: string;
let noSizeRunId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const { db } = database;
  const team = await db.team.create({
    data: { name: "Scaling analysis", slug: "scaling-analysis" },
    select: { id: true },
  });
  const project = await db.project.create({
    data: { teamId: team.id, name: "Optimal", slug: "optimal" },
    select: { id: true },
  });
  experimentId = (
    await db.experiment.create({ data: { projectId: project.id, name: "isoflop" }, select: { id: true } })
  ).id;
  let wobble = 0;
  for (const budget of BUDGETS) {
    for (const width of WIDTHS) {
      const n = paramsOf(width);
      const steps = Math.floor(budget / (6 * n * BATCH));
      if (steps < 4) continue;
      const samples = steps * BATCH;
      // A deterministic ±0.5% wobble stands in for seed noise.
      wobble = (wobble + 0.37) % 1;
      const lossAt = (step: number) => predictJoint(TRUTH, n, step * BATCH) * (1 + 0.01 * (wobble - 0.5));
      const points = Array.from({ length: 8 }, (_, index) => Math.max(1, Math.round(((index + 1) * steps) / 8)));
      const run = await db.run.create({
        data: {
          experimentId,
          name: `w${width}-c${budget}`,
          cellHash: randomBytes(8).toString("hex"),
          config: { params: { "model.width": width, "training.seed": 0 } },
          status: "succeeded",
          paramCount: BigInt(n),
          flopsPerStep: 6 * n * BATCH,
          totalFlops: 6 * n * BATCH * steps,
          step: steps,
          samples,
          trainSeconds: samples / (2e7 / n),
          samplesPerSecond: 2e7 / n,
        },
        select: { id: true },
      });
      await ingestPoints(
        db,
        run.id,
        points.map((step) => ({ key: "val/loss", step, value: lossAt(step) })),
      );
    }
  }
  noSizeRunId = (
    await db.run.create({
      data: {
        experimentId,
        name: "imported",
        cellHash: randomBytes(8).toString("hex"),
        config: {},
        status: "succeeded",
        summary: { finalValLoss: 2 },
      },
      select: { id: true },
    })
  ).id;
}, 120_000);
afterAll(async () => {
  await database.drop();
});

describe("readScalingAnalysis", () => {
  it("fits the joint law, the IsoFLOP valleys and the envelope of an IsoFLOP study, and says which runs it left out", async () => {
    const analysis = await readScalingAnalysis(database.db, experimentId, {});
    expect(() => ZScalingAnalysis.parse(analysis)).not.toThrow();
    expect(analysis.metric).toBe("val/loss");
    expect(analysis.runs.excluded).toEqual([{ runId: noSizeRunId, name: "imported", reason: "no paramCount" }]);
    expect(analysis.joint).not.toBeNull();
    expect(analysis.joint!.dataUnit).toBe("samples");
    // a = beta / (alpha + beta) = 0.5 for the truth.
    expect(analysis.computeOptimal!.a).toBeGreaterThan(0.4);
    expect(analysis.computeOptimal!.a).toBeLessThan(0.6);
    expect(analysis.computeOptimal!.flopsPerParamToken).toBeCloseTo(6, 6);
    expect(analysis.isoflop!.budgets.map((budget) => budget.runs)).toHaveLength(3);
    expect(analysis.isoflop!.exponent).not.toBeNull();
    expect(analysis.envelope!.points.length).toBeGreaterThan(10);
    // Different training lengths: no power law in N alone, and the reason is given.
    expect(analysis.powerLaw).toBeNull();
    expect(analysis.notes.join("\n")).toMatch(/different lengths/);
    expect(analysis.advice).toBeNull();
  });

  it("recommends a width and a training length for a FLOP budget within the range, with an interval", async () => {
    const analysis = await readScalingAnalysis(database.db, experimentId, { budgetFlops: 8e9 });
    const advice = analysis.advice!;
    expect(advice.ok).toBe(true);
    expect(advice.fit).toBe("joint");
    const width = advice.sweptValues!["model.width"]!;
    expect(Number.isInteger(width)).toBe(true);
    expect(width).toBeGreaterThanOrEqual(16);
    expect(width).toBeLessThanOrEqual(128);
    expect(advice.steps).toBeGreaterThan(0);
    expect(advice.samples).toBeGreaterThan(0);
    expect(advice.tokens).toBeNull();
    expect(advice.predictedLoss!.low).toBeLessThan(advice.predictedLoss!.value);
    expect(advice.predictedLoss!.high).toBeGreaterThan(advice.predictedLoss!.value);
    expect(advice.intervalMethod).toBe("run-bootstrap");
  });

  it("answers a training-time budget from the measured throughput", async () => {
    const seconds = (await database.db.run.findFirst({ where: { experimentId, name: "w32-c4000000000" } }))!
      .trainSeconds!;
    const analysis = await readScalingAnalysis(database.db, experimentId, { budgetSeconds: seconds });
    expect(analysis.advice!.ok).toBe(true);
    expect(analysis.advice!.sweptValues!["model.width"]).toBeGreaterThan(0);
  });

  it("refuses a budget beyond 4x the largest run and names the runs that would answer it", async () => {
    const analysis = await readScalingAnalysis(database.db, experimentId, { budgetFlops: 1e12 });
    const advice = analysis.advice!;
    expect(advice.ok).toBe(false);
    expect(advice.reason).toMatch(/would answer it/);
    expect(advice.params).toBeNull();
    expect(advice.predictedLoss).toBeNull();
    expect(advice.sweptValues).toBeNull();
  });

  it("answers an experiment without usable runs with nulls and reasons, not an error", async () => {
    const { db } = database;
    const project = await db.experiment.findUniqueOrThrow({ where: { id: experimentId }, select: { projectId: true } });
    const empty = await db.experiment.create({
      data: { projectId: project.projectId, name: "empty" },
      select: { id: true },
    });
    const analysis = await readScalingAnalysis(db, empty.id, { budgetSeconds: 600 });
    expect(analysis).toMatchObject({
      runs: { used: 0, excluded: [] },
      powerLaw: null,
      joint: null,
      computeOptimal: null,
      isoflop: null,
      envelope: null,
      frontier: [],
    });
    expect(analysis.advice).toMatchObject({ ok: false, params: null, predictedLoss: null });
    expect(analysis.advice!.reason).toMatch(/parameter count/);
  });
});
