import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { claimRun } from "../../server/domain/run/claim-run.ts";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { connectToDatabase } from "../../worker/database-source.ts";
import { RunSession } from "../../worker/run-session.ts";
import type { ClaimedRun, RunSource, RunStore } from "../../worker/run-store.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * An attempt's end is recorded only after its last points are stored. The failure injected here is
 * what a PostgreSQL restart does to a worker as training ends (seen in the fault suite): the points'
 * write fails ("the database system is starting up") and, a moment later, recording the end
 * succeeds. Everything else is the worker's real database store on a real PostgreSQL.
 */

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let source: RunSource;
let teamId: string;
let editorId: string;
let specs = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  source = await connectToDatabase(database.url, {
    slots: 1,
    checkpointDir: null,
    staleSeconds: 60,
    allowCommands: false,
    apiUrl: null,
    log: () => undefined,
  });
  editorId = (await createUser(database.db, "Ends")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "editor" })).id;
});

afterAll(async () => {
  await source?.close();
  await producer?.stop();
  await database?.drop();
});

/** A queued run of a fresh experiment, claimed as a worker claims it. */
async function claimedRun(): Promise<ClaimedRun> {
  const caller = createCaller(
    createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }),
  );
  const applied = await caller.spec.applySpec({
    teamId,
    fileName: "ends.yaml",
    source: `
project: Run ends
experiment: ends-${++specs}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 64 }
model: { family: mlp, width: 8, depth: 1 }
training:
  optimizer: { kind: adam, lr: 0.01 }
  budget: { steps: 20 }
`,
  });
  const outcome = await claimRun(database.db, applied.created[0]!, { workerName: "ends", allowCommands: false });
  if (outcome.kind !== "claimed") throw new Error(`not claimed: ${outcome.kind}`);
  return outcome.run;
}

/** The real store, whose point writes fail `failures` times as a restarting database's do. */
function restartingStore(failures: number): RunStore & { attempts: () => number } {
  let attempts = 0;
  return {
    ...source.store,
    attempts: () => attempts,
    writePoints: async (run, points) => {
      attempts += 1;
      if (attempts <= failures) throw new Error("FATAL: the database system is starting up (57P03)");
      return source.store.writePoints(run, points);
    },
  };
}

const points = (count: number) =>
  Array.from({ length: count }, (_, step) => ({ key: "train/loss", step, value: 1 / (step + 1) }));

describe("an attempt that ends while its points cannot be written", () => {
  it("retries them, and records the end only once every point is stored", async () => {
    const run = await claimedRun();
    const store = restartingStore(3);
    const session = new RunSession(store, run);
    session.addPoints(points(20));
    expect(await session.finish({ status: "succeeded", step: 20 })).toBe(true);

    expect(store.attempts()).toBe(4);
    const stored = await readLoggedPoints(database.db, { runId: run.id, key: "train/loss" });
    expect(stored.map((point) => point.step)).toEqual(points(20).map((point) => point.step));
    const row = await database.db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(row.status).toBe("succeeded");
  });

  it("leaves the run running (to go stale and resume from its checkpoint) when they never can be", async () => {
    const run = await claimedRun();
    const session = new RunSession(restartingStore(Number.POSITIVE_INFINITY), run, undefined, 1_000);
    session.addPoints(points(5));
    await expect(session.finish({ status: "succeeded", step: 5 })).rejects.toThrow(
      /5 point\(s\) .* could not be stored within 1 s/,
    );
    const row = await database.db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(row.status).toBe("running");
    expect(await readLoggedPoints(database.db, { runId: run.id, key: "train/loss" })).toEqual([]);
  });
});
