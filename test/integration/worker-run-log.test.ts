import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { type RunQueue, startProducerQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startWorker, waitFor, type WorkerProcess } from "../helpers/worker-process.ts";

/**
 * Issue 18: a real worker trains a tiny run; its log shows training progress (bounded, not a line a step)
 * and how the attempt ended, and its environment names the CPU cores and memory.
 */

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let teamId: string;
let editorId: string;
let started: WorkerProcess | null = null;

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  editorId = (await createUser(database.db, "Lena")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "editor" })).id;
});

afterAll(async () => {
  await started?.killAll();
  await producer?.stop();
  await database?.drop();
});

const steps = 300;
const spec = (budget: number, experiment: string) => `
project: Run log test
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 256 }
model: { family: mlp, width: 8, depth: 1 }
training:
  optimizer: { kind: adam, lr: 0.01 }
  batchSize: 32
  budget: { steps: ${budget} }
  evalEvery: 100
  logEvery: 10
resources: { backend: wasm }
checkpoint: { everySteps: 100, everySeconds: 30 }
`;

describe("run log of a builtin run", () => {
  it("holds progress lines with the losses and a final line; the environment has CPU cores and memory", {
    timeout: 120_000,
  }, async () => {
    const worker = startWorker(database.url, { name: "log-a", slots: 1 });
    started = worker;
    onTestFailed(() => console.error(`--- output of worker log-a ---\n${worker.output()}`));
    await worker.ready;
    const caller = createCaller(
      createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }),
    );
    const {
      created: [runId],
    } = await caller.spec.applySpec({ teamId, source: spec(steps, "progress"), fileName: "run-log.yaml" });

    const finished = await waitFor(
      "the run to finish",
      async () => {
        const found = await database.db.run.findUniqueOrThrow({
          where: { id: runId! },
          select: { status: true, environment: true },
        });
        return found.status === "running" || found.status === "queued" ? null : found;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(finished.status).toBe("succeeded");
    const environment = finished.environment as Record<string, unknown>;
    expect(environment.cpuCores).toEqual(expect.any(Number));
    expect(environment.cpuCores as number).toBeGreaterThan(0);
    expect(environment.memoryBytes as number).toBeGreaterThan(0);
    expect(environment).toHaveProperty("cpu");

    const lines = (await database.db.runLog.findMany({ where: { runId: runId! }, orderBy: { id: "asc" } })).map(
      (entry) => entry.line,
    );
    const progress = lines.filter((line) => /^step \d+\/300 \(\d+%\) · [\d.]+ s/.test(line));
    expect(progress.length, lines.join("\n")).toBeGreaterThan(0);
    // Bounded: at most one a 10% of the steps (plus timed ones), never one a step.
    expect(progress.length).toBeLessThan(steps / 10);
    expect(progress.some((line) => line.includes("train/loss "))).toBe(true);
    expect(lines.at(-1)).toMatch(/^succeeded after 300 steps/);
  });

  it("ends with a line saying the run was released and from which step it resumes when the worker stops", {
    timeout: 120_000,
  }, async () => {
    await started?.killAll();
    const worker = startWorker(database.url, { name: "log-b", slots: 1 });
    started = worker;
    onTestFailed(() => console.error(`--- output of worker log-b ---\n${worker.output()}`));
    await worker.ready;
    const caller = createCaller(
      createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }),
    );
    const {
      created: [runId],
    } = await caller.spec.applySpec({ teamId, source: spec(20_000, "release"), fileName: "run-log-release.yaml" });
    await waitFor("a checkpoint", async () => (await database.db.checkpoint.count({ where: { runId: runId! } })) > 0, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    worker.signal("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect((await database.db.run.findUniqueOrThrow({ where: { id: runId! } })).status).toBe("queued");
    const lines = (await database.db.runLog.findMany({ where: { runId: runId! }, orderBy: { id: "asc" } })).map(
      (entry) => entry.line,
    );
    expect(lines.at(-1), lines.join("\n")).toMatch(
      /^released: worker stopped, resumes from (step \d+|its last checkpoint)/,
    );
  });
});
