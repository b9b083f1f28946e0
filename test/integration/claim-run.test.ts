import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { claimRun } from "../../server/domain/run/claim-run.ts";
import { startProducerQueue, type RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/** What a worker gets when it claims a run: the run's own config and its own spec version's settings, each read back through its schema. */

let database: TestDatabase;
let producer: { queue: RunQueue; stop: () => Promise<void> };
let teamId: string;
let editorId: string;
const claimant = { workerName: "claim-test", allowCommands: false };

beforeAll(async () => {
  database = await createTestDatabase();
  producer = await startProducerQueue(database.url);
  editorId = (await createUser(database.db, "Clara")).id;
  teamId = (await createTeamWith(database.db, { [editorId]: "editor" })).id;
});

afterAll(async () => {
  await producer?.stop();
  await database?.drop();
});

async function apply(source: string) {
  const caller = createCaller(
    createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => producer.queue }),
  );
  return caller.spec.applySpec({ teamId, source, fileName: "claim-test.yaml" });
}

function spec(experiment: string, options: { widths: number[]; backend: string; checkpoint: string }): string {
  return `
project: Claim test
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: 64 }
model: { family: mlp, width: 8, depth: 1 }
training:
  optimizer: { kind: adam, lr: 0.01 }
  budget: { steps: 20 }
resources: { backend: ${options.backend} }
checkpoint: ${options.checkpoint}
sweep:
  parameters:
    model.width: [${options.widths.join(", ")}]
`;
}

describe("claiming a run", () => {
  it("hands the worker the backend and checkpoint settings of the run's own spec version, not the latest one", async () => {
    const v1 = await apply(
      spec("versions", { widths: [4], backend: "cpu", checkpoint: "{ everySteps: 5, everySeconds: 30 }" }),
    );
    expect(v1.specVersion).toBe(1);
    const [v1Run] = v1.created;
    // v2 changes only settings that are not part of a cell, and adds a width: the v1 run stays as it was.
    const v2 = await apply(
      spec("versions", { widths: [4, 16], backend: "wasm", checkpoint: "{ everySteps: 50, everySeconds: 120 }" }),
    );
    expect(v2.specVersion).toBe(2);
    expect(v2.created).toHaveLength(1);
    const [v2Run] = v2.created;

    const first = await claimRun(database.db, v1Run!, claimant);
    expect(first.kind).toBe("claimed");
    if (first.kind !== "claimed") return;
    expect(first.run.backendPreference).toBe("cpu");
    expect(first.run.checkpointEvery).toEqual({ steps: 5, seconds: 30 });
    expect(first.run.config.params).toEqual({ "model.width": 4 });
    expect(first.run.config.model).toEqual({
      family: "mlp",
      width: 4,
      depth: 1,
      activation: "relu",
      layerNorm: false,
      dropout: 0,
    });

    const second = await claimRun(database.db, v2Run!, claimant);
    expect(second.kind).toBe("claimed");
    if (second.kind !== "claimed") return;
    expect(second.run.backendPreference).toBe("wasm");
    expect(second.run.checkpointEvery).toEqual({ steps: 50, seconds: 120 });
    expect(second.run.config.params).toEqual({ "model.width": 16 });
  });

  it("fails a run whose stored config no longer parses, with the reason, instead of handing it to a worker", async () => {
    const applied = await apply(
      spec("broken config", { widths: [4], backend: "cpu", checkpoint: "{ everySeconds: 30 }" }),
    );
    const runId = applied.created[0]!;
    const stored = await database.db.run.findUniqueOrThrow({ where: { id: runId }, select: { config: true } });
    const config = stored.config as { model: Record<string, unknown> };
    await database.db.run.update({
      where: { id: runId },
      data: { config: { ...config, model: { ...config.model, width: "wide" } } },
    });

    const outcome = await claimRun(database.db, runId, claimant);
    expect(outcome.kind).toBe("skipped");
    if (outcome.kind !== "skipped") return;
    expect(outcome.reason).toMatch(
      /^cannot start the run: its stored config does not match the spec schema \(model\.width: /,
    );
    const run = await database.db.run.findUniqueOrThrow({
      where: { id: runId },
      select: { status: true, error: true, attempt: true, workerName: true, finishedAt: true },
    });
    expect(run).toMatchObject({ status: "failed", error: outcome.reason, attempt: 0, workerName: null });
    expect(run.finishedAt).not.toBeNull();
    // The queue's job, retried, finds the run finished and skips it.
    expect(await claimRun(database.db, runId, claimant)).toEqual({ kind: "skipped", reason: "the run is failed" });
  });

  it("fails a run whose spec version's resources no longer parse, naming the version and the setting", async () => {
    const applied = await apply(
      spec("broken resources", { widths: [4], backend: "cpu", checkpoint: "{ everySeconds: 30 }" }),
    );
    const runId = applied.created[0]!;
    const version = await database.db.specVersion.findFirstOrThrow({
      where: { experimentId: applied.experimentId, version: 1 },
      select: { id: true, resolved: true },
    });
    const resolved = version.resolved as Record<string, unknown>;
    await database.db.specVersion.update({
      where: { id: version.id },
      data: { resolved: { ...resolved, resources: { backend: "abacus", gpus: 0 } } },
    });

    const outcome = await claimRun(database.db, runId, claimant);
    expect(outcome.kind).toBe("skipped");
    if (outcome.kind !== "skipped") return;
    expect(outcome.reason).toMatch(/spec version 1 do not match the spec schema \(resources\.backend: /);
    expect((await database.db.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true } })).status).toBe(
      "failed",
    );
  });
});
