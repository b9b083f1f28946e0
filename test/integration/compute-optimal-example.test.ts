import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { MAX_ISOFLOP_EPOCHS, MIN_ISOFLOP_STEPS } from "../../server/domain/spec/isoflop-sweep.ts";
import type { RunStatus } from "../../server/generated/prisma/enums.ts";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";

/**
 * examples/compute-optimal.yaml in its quick mode (the budgets and seeds its own comment names),
 * planned, applied and trained end to end by a real worker with two slots against a real PostgreSQL.
 */

const EXAMPLE = path.resolve(import.meta.dirname, "../../examples/compute-optimal.yaml");
const FINISHED: RunStatus[] = ["succeeded", "failed", "canceled", "diverged"];

/** The example with the budgets and seed count of the quick mode written above its budgets. */
function quickMode(source: string): { source: string; budgets: number[]; seeds: number } {
  const quick = /# Quick mode \(CI[^)]*\): budgets (\[[^\]]+\]), seeds (\d+)\./.exec(source);
  if (!quick) throw new Error("the example no longer names its quick mode");
  const budgets = JSON.parse(quick[1]!) as number[];
  const seeds = Number(quick[2]);
  const rewritten = source
    .replace(/^( {4}budgets: )\[[^\]]+\]$/m, `$1${quick[1]}`)
    .replace(/^( {2}seeds: )\d+$/m, `$1${seeds}`);
  if (rewritten.match(/budgets: \[[^\]]+\]$/m)?.[0] !== `budgets: ${quick[1]}`)
    throw new Error("the example's budgets line was not rewritten");
  return { source: rewritten, budgets, seeds };
}

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let teamId: string;
let editorId: string;
let worker: WorkerProcess | null = null;

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  editorId = (await createUser(database.db, "Chinchilla")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "editor" })).id;
});

afterAll(async () => {
  await worker?.killAll();
  await producer?.stop();
  await database?.drop();
});

describe("examples/compute-optimal.yaml, quick mode", () => {
  it("plans the IsoFLOP cells it keeps and why it drops the others, then trains each to its budget through a worker", {
    timeout: 300_000,
  }, async () => {
    const { source, budgets, seeds } = quickMode(readFileSync(EXAMPLE, "utf8"));
    expect(seeds).toBe(1);
    const caller = createCaller(
      createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }),
    );
    const input = { teamId, source, fileName: "compute-optimal.yaml" };

    const plan = await caller.spec.plan(input);
    // 10 widths x 2 budgets: the wide ones cannot take 20 steps of so small a budget.
    expect(plan.create.length + plan.dropped.length).toBe(10 * budgets.length);
    expect(plan.create.length).toBeGreaterThanOrEqual(8);
    for (const dropped of plan.dropped)
      expect(dropped.reason, dropped.name).toMatch(
        new RegExp(`fewer than ${MIN_ISOFLOP_STEPS}$|\\(more than ${MAX_ISOFLOP_EPOCHS}\\)$`),
      );
    expect(plan.dropped.map((cell) => cell.name)).toContain("isoflopBudget=1e7 hidden=1024 seed=0");
    for (const cell of plan.create) {
      const budget = cell.params["training.isoflopBudget"] as number;
      expect(budgets).toContain(budget);
      expect(cell.steps!).toBeGreaterThanOrEqual(MIN_ISOFLOP_STEPS);
      expect(Math.abs(cell.totalFlops! - budget)).toBeLessThanOrEqual(cell.flopsPerStep! / 2);
    }

    const applied = await caller.spec.applySpec(input);
    expect(applied.created).toHaveLength(plan.create.length);

    worker = startWorker(database.url, { name: "compute-optimal", slots: 2 });
    onTestFailed(() => console.error(`--- worker output ---\n${worker?.output()}`));
    await worker.ready;
    const started = performance.now();
    await waitFor(
      "every run to finish",
      async () =>
        (await database.db.run.count({ where: { id: { in: applied.created }, status: { in: FINISHED } } })) ===
        applied.created.length,
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    console.log(
      `quick mode: ${applied.created.length} runs trained in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const runs = await database.db.run.findMany({
      where: { id: { in: applied.created } },
      select: { name: true, status: true, error: true, config: true, summary: true, step: true, flopsPerStep: true },
    });
    for (const run of runs) {
      expect(run.status, `${run.name}: ${run.error}`).toBe("succeeded");
      const config = run.config as { params: Record<string, unknown>; training: Record<string, unknown> };
      const budget = config.training.isoflopBudget as number;
      expect(budgets, run.name).toContain(budget);
      expect(config.params["training.isoflopBudget"]).toBe(budget);
      // The steps it trained buy its budget, to within half a step.
      expect(Math.abs(run.step! * run.flopsPerStep! - budget), run.name).toBeLessThanOrEqual(run.flopsPerStep! / 2);
      const summary = run.summary as Record<string, number>;
      // A char-mlp predicts one token per example: D in tokens is steps x batch 64.
      expect(summary.tokens, run.name).toBe(run.step! * 64);
      expect(summary.samples, run.name).toBe(run.step! * 64);
      expect(summary.trainSeconds, run.name).toBeGreaterThan(0);
      expect(summary.evalSeconds, run.name).toBeGreaterThan(0);
      expect(summary.overheadSeconds, run.name).toBeGreaterThanOrEqual(0);
      expect(summary.samplesPerSecond, run.name).toBeGreaterThan(0);
    }
  });
});
