import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelRuns } from "../../server/domain/run/cancel-runs.ts";
import { applySpec } from "../../server/domain/spec/apply-spec.ts";
import { expandSweep } from "../../server/domain/spec/expand-sweep.ts";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";
import { PrismaClient, type Prisma } from "../../server/generated/prisma/client.ts";
import { COMMAND_QUEUE, startProducerQueue, TRAIN_QUEUE } from "../../server/queue/boss.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let database: TestDatabase;
let producer: Awaited<ReturnType<typeof startProducerQueue>>;
let teamId: string;
/** A Prisma client whose every statement sent to PostgreSQL is counted (BEGIN and COMMIT included). */
let counted: { db: PrismaClient; statements: () => number; pool: pg.Pool };

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  const user = await createUser(database.db, "Ada");
  teamId = (await createTeamWith(database.db, { [user.id]: "editor" })).id;
  let statements = 0;
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements += 1;
      return query(...args);
    };
  });
  counted = { db: new PrismaClient({ adapter: new PrismaPg(pool) }), statements: () => statements, pool };
});
afterAll(async () => {
  await counted.db.$disconnect();
  await counted.pool.end().catch(() => undefined);
  await producer.stop();
  await database.drop();
});

const sweep = (experiment: string, widths: number, seeds: number, extra = "") =>
  parseSpec(
    `project: Batched\nexperiment: ${experiment}\ndataset: { kind: teacher, inputs: 4, samples: 64 }\nmodel: { family: mlp, depth: 1, width: 4 }\n` +
      `training: { optimizer: { kind: adam, lr: 0.01 }, batchSize: 16, budget: { steps: 5 } }\n${extra}` +
      `sweep: { parameters: { model.width: { range: { from: 1, to: ${widths}, step: 1 } } }, seeds: ${seeds} }\n`,
    `${experiment}.yaml`,
  );

async function statementsOf<T>(work: () => Promise<T>): Promise<{ result: T; statements: number; seconds: number }> {
  const before = counted.statements();
  const started = performance.now();
  const result = await work();
  return { result, statements: counted.statements() - before, seconds: (performance.now() - started) / 1000 };
}

async function queuedRunIds(name: string): Promise<Set<string>> {
  const jobs = await producer.boss.findJobs<{ runId: string }>(name, { queued: true, limit: 100_000 });
  return new Set(jobs.map((job) => job.data.runId));
}

describe("apply in batches", () => {
  it("creates 10,000 runs and their jobs in a few statements, retries and prunes them in a few more", async () => {
    const actor = { teamId, userId: null };
    const spec = sweep("ten-thousand", 100, 100);
    const cells = expandSweep(spec);
    expect(cells).toHaveLength(10_000);

    const applied = await statementsOf(() => applySpec(counted.db, producer.queue, actor, spec, cells));
    expect(applied.result.created).toHaveLength(10_000);
    // One statement per run or per job would be 10,000 or more.
    expect(applied.statements).toBeLessThanOrEqual(30);
    console.log(`apply of 10,000 cells: ${applied.statements} statements, ${applied.seconds.toFixed(2)} s`);
    const runs = await database.db.run.findMany({
      where: { experimentId: applied.result.experimentId },
      select: { id: true, status: true },
    });
    expect(runs).toHaveLength(10_000);
    expect(runs.every((run) => run.status === "queued")).toBe(true);
    expect(await queuedRunIds(TRAIN_QUEUE)).toEqual(new Set(applied.result.created));

    // Half the runs are taken and fail, as a worker would leave them; --retry-failed queues them again.
    const taken = await producer.boss.fetch<{ runId: string }>(TRAIN_QUEUE, { batchSize: 5_000 });
    expect(taken).toHaveLength(5_000);
    const failedIds = taken.map((job) => job.data.runId);
    await producer.boss.complete(
      TRAIN_QUEUE,
      taken.map((job) => job.id),
    );
    await database.db.run.updateMany({
      where: { id: { in: failedIds } },
      data: { status: "failed", error: "diverged at step 3" },
    });
    const retried = await statementsOf(() =>
      applySpec(counted.db, producer.queue, actor, spec, cells, { retryFailed: true }),
    );
    expect(new Set(retried.result.retried)).toEqual(new Set(failedIds));
    expect(retried.result.created).toHaveLength(0);
    expect(retried.statements).toBeLessThanOrEqual(30);
    expect(await queuedRunIds(TRAIN_QUEUE)).toEqual(new Set(applied.result.created));
    expect(
      await database.db.run.count({ where: { experimentId: applied.result.experimentId, status: "queued" } }),
    ).toBe(10_000);

    // A narrower spec with --prune cancels the 9,000 queued runs it no longer has, and their jobs.
    const narrower = sweep("ten-thousand", 10, 100);
    const pruned = await statementsOf(() =>
      applySpec(counted.db, producer.queue, actor, narrower, expandSweep(narrower), { prune: true }),
    );
    expect(pruned.result.canceled).toHaveLength(9_000);
    expect(pruned.statements).toBeLessThanOrEqual(40);
    const stillQueued = await queuedRunIds(TRAIN_QUEUE);
    expect(stillQueued.size).toBe(1_000);
    expect(pruned.result.canceled.some((runId) => stillQueued.has(runId))).toBe(false);
  });
});

describe("the run queue through pg-boss's API", () => {
  it("cancels a queued run's job and leaves the others", async () => {
    const spec = sweep("cancel-one", 3, 1);
    const { created } = await applySpec(database.db, producer.queue, { teamId, userId: null }, spec, expandSweep(spec));
    expect(await cancelRuns(database.db, { runIds: [created[0]!] }, producer.queue)).toEqual({
      canceled: 1,
      stopping: 0,
    });
    const queued = await queuedRunIds(TRAIN_QUEUE);
    expect(queued.has(created[0]!)).toBe(false);
    expect(queued.has(created[1]!) && queued.has(created[2]!)).toBe(true);
  });

  it("gives a remote worker its team's highest-priority run and completes its job in the same transaction", async () => {
    const other = await createUser(database.db, "Bea");
    const otherTeamId = (await createTeamWith(database.db, { [other.id]: "editor" })).id;
    const low = sweep("take-low", 1, 1, "priority: 1\n");
    const high = sweep("take-high", 1, 1, "priority: 9\n");
    const elsewhere = sweep("take-elsewhere", 1, 1, "priority: 50\n");
    const [lowRun] = (
      await applySpec(database.db, producer.queue, { teamId: otherTeamId, userId: null }, low, expandSweep(low))
    ).created;
    const [highRun] = (
      await applySpec(database.db, producer.queue, { teamId: otherTeamId, userId: null }, high, expandSweep(high))
    ).created;
    const [elsewhereRun] = (
      await applySpec(database.db, producer.queue, { teamId, userId: null }, elsewhere, expandSweep(elsewhere))
    ).created;

    // The worker API claims the run it is given in the same transaction.
    const claim = (tx: Prisma.TransactionClient, runId: string) =>
      tx.run.update({ where: { id: runId }, data: { status: "running" }, select: { id: true } });
    const taken = await database.db.$transaction(async (tx) => {
      const runId = await producer.queue.takeTeamRun(tx, otherTeamId, false);
      if (runId) await claim(tx, runId);
      return runId;
    });
    expect(taken).toBe(highRun);
    const queued = await queuedRunIds(TRAIN_QUEUE);
    expect(queued.has(highRun!)).toBe(false);
    expect(queued.has(lowRun!) && queued.has(elsewhereRun!)).toBe(true);
    const [job] = await producer.boss.findJobs(TRAIN_QUEUE, { key: highRun! });
    expect(job?.state).toBe("completed");

    // A transaction that rolls back leaves the job queued.
    await expect(
      database.db.$transaction(async (tx) => {
        expect(await producer.queue.takeTeamRun(tx, otherTeamId, false)).toBe(lowRun);
        throw new Error("claim failed");
      }),
    ).rejects.toThrow("claim failed");
    expect((await queuedRunIds(TRAIN_QUEUE)).has(lowRun!)).toBe(true);
  });

  it("retires a run's job, queued or active, so a fresh one can be sent under its key", async () => {
    // The highest priority, so it is the job fetched next.
    const spec = sweep("retire", 1, 1, "priority: 100\n");
    const [runId] = (await applySpec(database.db, producer.queue, { teamId, userId: null }, spec, expandSweep(spec)))
      .created;
    const [active] = await producer.boss.fetch<{ runId: string }>(TRAIN_QUEUE);
    expect(active?.data.runId).toBe(runId);
    await database.db.$transaction(async (tx) => {
      await producer.queue.retireRunJobs(tx, [runId!]);
      await producer.queue.enqueueRuns(tx, [{ runId: runId!, priority: 0, command: true }]);
    });
    expect((await producer.boss.findJobs(TRAIN_QUEUE, { id: active!.id }))[0]?.state).toBe("failed");
    expect(await queuedRunIds(COMMAND_QUEUE)).toEqual(new Set([runId]));
  });
});
