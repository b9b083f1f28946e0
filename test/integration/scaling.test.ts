import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { randomBytes } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scalingRouter } from "../../server/api/routers/scaling.ts";
import { createCallerFactory, createTRPCContext, router } from "../../server/api/trpc.ts";
import type { Actor } from "../../server/domain/access/actor.ts";
import type { RunStatus } from "../../server/generated/prisma/enums.ts";
import { createTeamWith, createUser, keyActor, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

const createCaller = createCallerFactory(router({ scaling: scalingRouter }));

const SIZES = [1e3, 1e4, 1e5, 1e6];
const SEED_NOISE = [-0.005, 0, 0.005];
const STEPS = 100;
const trueLoss = (n: number) => 1.7 + 400 * n ** -0.34;

let database: TestDatabase;
let experimentId: string;
let otherExperimentId: string;
let foreignRunId: string;
let viewer: Actor;
let outsider: Actor;
let ingestKey: Actor;
const sweepRunIds: string[] = [];
const skippedRunIds: { noSize: string; noMetric: string } = { noSize: "", noMetric: "" };
let failedRunId: string;

type RunSeed = {
  experimentId: string;
  name: string;
  status?: RunStatus;
  paramCount?: number;
  params?: Record<string, number>;
  finalLoss?: number;
  summary?: Record<string, number>;
};

/** A run as the worker leaves it: sizes and costs on the row, val/loss as a series of points. */
async function seedRun(seed: RunSeed): Promise<string> {
  const { db } = database;
  const n = seed.paramCount;
  const run = await db.run.create({
    data: {
      experimentId: seed.experimentId,
      name: seed.name,
      cellHash: randomBytes(8).toString("hex"),
      config: { params: seed.params ?? {} },
      status: seed.status ?? "succeeded",
      ...(n !== undefined
        ? {
            paramCount: BigInt(n),
            flopsPerStep: 6 * n,
            totalFlops: 6 * n * STEPS,
            wallClockSeconds: 0.01 * n ** 0.8,
            step: STEPS,
          }
        : {}),
      summary: seed.summary ?? {},
    },
    select: { id: true },
  });
  if (seed.finalLoss !== undefined) {
    // Falls, dips below the end, then ends at finalLoss: min and last differ.
    const values = [seed.finalLoss * 1.6, seed.finalLoss * 0.995, seed.finalLoss];
    await ingestPoints(
      db,
      run.id,
      values.map((value, index) => ({ key: "val/loss", step: (index * STEPS) / 2, value })),
    );
  }
  return run.id;
}

beforeAll(async () => {
  database = await createTestDatabase();
  const { db } = database;
  const [member, stranger] = await Promise.all([createUser(db, "Vera"), createUser(db, "Otto")]);
  const team = await createTeamWith(db, { [member.id]: "viewer" });
  const otherTeam = await createTeamWith(db, { [stranger.id]: "admin" });
  const project = await db.project.create({
    data: { teamId: team.id, name: "Scaling", slug: "scaling" },
    select: { id: true },
  });
  const foreignProject = await db.project.create({
    data: { teamId: otherTeam.id, name: "Theirs", slug: "theirs" },
    select: { id: true },
  });
  experimentId = (await db.experiment.create({ data: { projectId: project.id, name: "width" }, select: { id: true } }))
    .id;
  otherExperimentId = (
    await db.experiment.create({ data: { projectId: project.id, name: "width-bigger" }, select: { id: true } })
  ).id;
  const foreignExperimentId = (
    await db.experiment.create({ data: { projectId: foreignProject.id, name: "x" }, select: { id: true } })
  ).id;

  for (const n of SIZES) {
    for (const [seed, noise] of SEED_NOISE.entries()) {
      sweepRunIds.push(
        await seedRun({
          experimentId,
          name: `n${n}-s${seed}`,
          paramCount: n,
          params: { "model.width": n, "training.seed": seed },
          finalLoss: trueLoss(n) * (1 + noise),
        }),
      );
    }
  }
  failedRunId = await seedRun({ experimentId, name: "failed", status: "failed", paramCount: 1e7, finalLoss: 0.1 });
  skippedRunIds.noSize = await seedRun({ experimentId, name: "imported", summary: { finalValLoss: 2.5 } });
  skippedRunIds.noMetric = await seedRun({ experimentId, name: "silent", paramCount: 1e3 });
  await seedRun({
    experimentId: otherExperimentId,
    name: "big",
    paramCount: 1e7,
    summary: { finalValLoss: trueLoss(1e7), bestValLoss: trueLoss(1e7) * 0.99 },
  });
  foreignRunId = await seedRun({ experimentId: foreignExperimentId, name: "theirs", paramCount: 1e3, finalLoss: 9 });

  viewer = userActor(member.id);
  outsider = userActor(stranger.id);
  ingestKey = await keyActor(db, team.id, member.id, "ingest");
});
afterAll(async () => {
  await database.drop();
});

function caller(actor: Actor | null) {
  return createCaller(createTRPCContext({ db: database.db, actor }));
}

async function expectCode(promise: Promise<unknown>, code: TRPCError["code"]) {
  await expect(promise).rejects.toSatisfy((error: unknown) => error instanceof TRPCError && error.code === code);
}

describe("scaling.view", () => {
  it("groups seeds by size, fits the power law and lists what it skipped", async () => {
    const view = await caller(viewer).scaling.view({ experimentId, extrapolateTo: 1e7 });
    expect(view.runs.map((run) => run.id).sort()).toEqual([...sweepRunIds].sort());
    expect(view.runs.every((run) => run.lossSource === "series" && typeof run.paramCount === "number")).toBe(true);
    expect(view.runs[0]!.params).toHaveProperty("training.seed");
    expect(view.skipped).toEqual(
      expect.arrayContaining([
        { runId: skippedRunIds.noSize, name: "imported", reason: "no paramCount" },
        { runId: skippedRunIds.noMetric, name: "silent", reason: "no val/loss value" },
      ]),
    );
    expect(view.skipped).toHaveLength(2);
    expect(view.runs.some((run) => run.id === failedRunId)).toBe(false);

    expect(view.groups.map((group) => group.x)).toEqual(SIZES);
    for (const group of view.groups) {
      expect(group.count).toBe(3);
      expect(group.mean).toBeCloseTo(trueLoss(group.x), 10);
      expect(group.min).toBeCloseTo(trueLoss(group.x) * 0.995, 10);
      expect(group.max).toBeCloseTo(trueLoss(group.x) * 1.005, 10);
      expect(group.std).toBeCloseTo(trueLoss(group.x) * 0.005, 10);
    }

    if (!view.fit.ok) throw new Error(view.fit.reason);
    // Symmetric noise around the true curve: the per-size means are exact, so is the fit.
    expect(view.fit.alpha).toBeCloseTo(0.34, 4);
    expect(view.fit.E).toBeCloseTo(1.7, 3);
    expect(view.fit.A / 400).toBeCloseTo(1, 3);
    expect(view.fit.n).toBe(12);
    expect(view.intervals?.fitted).toBe(200);
    expect(view.intervals!.alpha.low).toBeLessThanOrEqual(view.fit.alpha);
    expect(view.intervals!.alpha.high).toBeGreaterThanOrEqual(view.fit.alpha);
    expect(view.extrapolation!.loss).toBeCloseTo(trueLoss(1e7), 3);
    expect(view.extrapolation!.low!).toBeLessThanOrEqual(view.extrapolation!.loss);
    expect(view.extrapolation!.high!).toBeGreaterThanOrEqual(view.extrapolation!.loss);
    expect(view.curve.at(-1)!.x).toBeCloseTo(1e7, 0);

    const runIds = new Set(view.runs.map((run) => run.id));
    for (const frontier of [view.frontier.flops, view.frontier.wallclock]) {
      expect(frontier.length).toBeGreaterThan(0);
      expect(frontier.every((point) => runIds.has(point.runId))).toBe(true);
      for (let index = 1; index < frontier.length; index++) {
        expect(frontier[index]!.cost).toBeGreaterThan(frontier[index - 1]!.cost);
        expect(frontier[index]!.loss).toBeLessThan(frontier[index - 1]!.loss);
      }
    }
    // Each size's best seed is the frontier: the larger model always wins at its cost here.
    expect(view.frontier.flops.map((point) => point.runId)).toEqual(
      view.groups.map(
        (group) => view.runs.find((run) => run.paramCount === group.paramCount && run.loss === group.min)!.id,
      ),
    );
    expect(view.budget).toBeNull();
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });

  it("uses the series minimum for best, and the fit against FLOPs", async () => {
    const best = await caller(viewer).scaling.view({ experimentId, use: "best", x: "flops", resamples: 0 });
    expect(best.groups.map((group) => group.x)).toEqual(SIZES.map((n) => 6 * n * STEPS));
    for (const group of best.groups) expect(group.mean).toBeCloseTo(trueLoss(group.x / (6 * STEPS)) * 0.995, 10);
    expect(best.fit.ok).toBe(true);
    if (best.fit.ok) expect(best.fit.alpha).toBeCloseTo(0.34, 4);
    expect(best.intervals).toBeNull();
  });

  it("recommends a size for a FLOP budget at the study's one training length, in the swept width", async () => {
    const view = await caller(viewer).scaling.view({
      experimentId,
      budget: { kind: "flops", value: 6 * 3e5 * STEPS },
      resamples: 50,
    });
    expect(view.budget).toBeNull();
    const advice = view.advice;
    if (!advice?.ok) throw new Error(`no advice: ${advice?.reason}`);
    expect(advice.fit).toBe("power-law");
    expect(advice.params).toBeCloseTo(3e5, -1);
    // The sweep's width is N here: 3e5 interpolates between the swept 1e5 and 1e6.
    expect(advice.sweptValues!["model.width"]).toBe(300000);
    expect(advice.steps).toBe(STEPS);
    expect(advice.predictedLoss!.value).toBeCloseTo(trueLoss(3e5), 2);
    expect(advice.intervalMethod).toBe("seed-bootstrap");
    expect(advice.predictedLoss!.low!).toBeLessThan(advice.predictedLoss!.high!);
    expect(advice.notes.join(" ")).toMatch(/does not trade size against training length/);

    const beyond = await caller(viewer).scaling.view({
      experimentId,
      budget: { kind: "flops", value: 6 * 1e6 * STEPS * 5 },
      resamples: 0,
    });
    expect(beyond.advice).toMatchObject({ ok: false, params: null, predictedLoss: null });
    expect(beyond.advice!.reason).toMatch(/would answer it/);

    const noTime = await caller(viewer).scaling.view({
      experimentId,
      budget: { kind: "seconds", value: 60 },
      resamples: 0,
    });
    expect(noTime.advice).toMatchObject({ ok: false });
    expect(noTime.advice!.reason).toMatch(/trainSeconds/);
  });

  it("analysis: the power law with seed intervals at one training length, and why there is no joint fit", async () => {
    const analysis = await caller(viewer).scaling.analysis({ experimentId, budgetFlops: 6 * 3e5 * STEPS });
    expect(analysis.metric).toBe("val/loss");
    expect(analysis.powerLaw!.alpha).toBeCloseTo(0.34, 1);
    expect(analysis.powerLaw!.intervalMethod).toBe("seed-bootstrap");
    const [low, high] = analysis.powerLaw!.intervals!.alpha;
    expect(high).toBeGreaterThan(low);
    expect(analysis.joint).toBeNull();
    expect(analysis.notes.join("\n")).toMatch(/joint fit: .*8 runs|joint fit: .*vary both/);
    expect(analysis.advice).toMatchObject({ ok: true, fit: "power-law", steps: STEPS });
    await expectCode(caller(outsider).scaling.analysis({ experimentId }), "NOT_FOUND");
    await expectCode(caller(null).scaling.analysis({ experimentId }), "UNAUTHORIZED");
    await expectCode(caller(ingestKey).scaling.analysis({ experimentId }), "FORBIDDEN");
    await expectCode(caller(viewer).scaling.analysis({ experimentId, budgetFlops: -1 }), "BAD_REQUEST");
  });

  it("answers too few sizes with a reason", async () => {
    const view = await caller(viewer).scaling.view({ experimentId: otherExperimentId });
    expect(view.fit).toMatchObject({ ok: false, sizes: 1 });
    expect(view.fit.ok ? "" : view.fit.reason).toMatch(/need at least 3 sizes/);
    expect(view.runs[0]!.lossSource).toBe("summary");
    expect(view.curve).toEqual([]);
  });

  it("hides other teams' experiments and refuses keys without read scope", async () => {
    await expectCode(caller(outsider).scaling.view({ experimentId }), "NOT_FOUND");
    await expectCode(caller(viewer).scaling.view({ experimentId: "nope" }), "NOT_FOUND");
    await expectCode(caller(null).scaling.view({ experimentId }), "UNAUTHORIZED");
    await expectCode(caller(ingestKey).scaling.view({ experimentId }), "FORBIDDEN");
  });
});

describe("scaling.compare", () => {
  it("fits hand-picked runs across experiments", async () => {
    const big = await database.db.run.findFirstOrThrow({
      where: { experimentId: otherExperimentId },
      select: { id: true },
    });
    const picked = [...sweepRunIds.slice(3), big.id, sweepRunIds[3]!, failedRunId];
    const view = await caller(viewer).scaling.compare({ runIds: picked, use: "best" });
    expect(view.runs).toHaveLength(10);
    expect(view.skipped).toEqual([{ runId: failedRunId, name: "failed", reason: "status is failed" }]);
    expect(view.groups.map((group) => group.count)).toEqual([3, 3, 3, 1]);
    expect(view.groups.at(-1)!.mean).toBeCloseTo(trueLoss(1e7) * 0.99, 10);
    expect(view.fit.ok).toBe(true);
  });

  it("answers NOT_FOUND when any run is another team's or does not exist", async () => {
    await expectCode(caller(outsider).scaling.compare({ runIds: sweepRunIds }), "NOT_FOUND");
    await expectCode(caller(viewer).scaling.compare({ runIds: [...sweepRunIds, foreignRunId] }), "NOT_FOUND");
    await expectCode(caller(viewer).scaling.compare({ runIds: [sweepRunIds[0]!, "missing"] }), "NOT_FOUND");
    await expectCode(caller(null).scaling.compare({ runIds: sweepRunIds }), "UNAUTHORIZED");
  });

  it("bounds its input", async () => {
    await expectCode(caller(viewer).scaling.compare({ runIds: [] }), "BAD_REQUEST");
    await expectCode(
      caller(viewer).scaling.compare({ runIds: Array.from({ length: 501 }, (_, index) => `r${index}`) }),
      "BAD_REQUEST",
    );
    await expectCode(caller(viewer).scaling.compare({ runIds: sweepRunIds, resamples: 5000 }), "BAD_REQUEST");
  });
});
