import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import { startProducerQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

let database: TestDatabase;
let queue: Awaited<ReturnType<typeof startProducerQueue>>;
let teamId: string;
let editorId: string;
let example: string;

beforeAll(async () => {
  database = await createTestDatabase();
  queue = await startProducerQueue(database.url);
  const editor = await createUser(database.db, "Eddie");
  editorId = editor.id;
  teamId = (await createTeamWith(database.db, { [editor.id]: "editor" })).id;
  example = await readFile(path.resolve(import.meta.dirname, "../../examples/mlp-width-scaling.yaml"), "utf8");
});
afterAll(async () => {
  await queue.stop();
  await database.drop();
});

function caller() {
  return createCaller(
    createTRPCContext({ db: database.db, actor: userActor(editorId), queue: async () => queue.queue }),
  );
}

async function queuedJobs(queueName = "train-run"): Promise<{ runId: string; priority: number }[]> {
  const jobs = await queue.boss.findJobs<{ runId: string }>(queueName, { queued: true });
  return jobs.map((job) => ({ runId: job.data.runId, priority: job.priority }));
}

describe("plan and apply", () => {
  it("plans every cell as new with its size, then applies them as queued runs with jobs", async () => {
    const plan = await caller().spec.plan({ teamId, source: example, fileName: "mlp-width-scaling.yaml" });
    expect(plan.create).toHaveLength(21);
    expect(plan.unchanged).toHaveLength(0);
    const width16 = plan.create.find((cell) => cell.params["model.width"] === 16);
    // teacher 16 inputs -> 16 -> 16 -> 1: (16*16+16) + (16*16+16) + (16+1)
    expect(width16?.paramCount).toBe(16 * 16 + 16 + (16 * 16 + 16) + 16 + 1);
    expect(width16?.totalFlops).toBeGreaterThan(0);
    expect(await database.db.run.count()).toBe(0);

    const result = await caller().spec.applySpec({ teamId, source: example, fileName: "mlp-width-scaling.yaml" });
    expect(result.created).toHaveLength(21);
    expect(result.specVersion).toBe(1);
    const runs = await database.db.run.findMany({ where: { experimentId: result.experimentId } });
    expect(runs.every((run) => run.status === "queued")).toBe(true);
    expect(new Set(runs.map((run) => run.cellHash)).size).toBe(21);
    const jobs = await queuedJobs();
    expect(new Set(jobs.map((job) => job.runId))).toEqual(new Set(runs.map((run) => run.id)));
  });

  it("is a no-op when applied again, even with keys and sweep values reordered", async () => {
    const again = await caller().spec.applySpec({ teamId, source: example, fileName: "mlp-width-scaling.yaml" });
    expect(again.created).toEqual([]);
    expect(again.specVersion).toBe(1);
    const reordered = example
      .replace("  depth: 2\n  width: 64\n", "  width: 64\n  depth: 2\n")
      .replace("  seeds: 3", "  seeds: [2, 0, 1]");
    expect(reordered).not.toBe(example);
    const plan = await caller().spec.plan({ teamId, source: reordered });
    expect(plan.create).toEqual([]);
    expect(plan.unchanged).toHaveLength(21);
    expect(await database.db.run.count()).toBe(21);
    expect((await queuedJobs()).length).toBe(21);
  });

  it("creates only the new cells of a changed spec, keeps removed ones unless pruned, and retries failed ones on request", async () => {
    const wider = example.replace("to: 1024", "to: 2048");
    const added = await caller().spec.applySpec({ teamId, source: wider });
    expect(added.created).toHaveLength(3);
    expect(added.specVersion).toBe(2);

    const failed = await database.db.run.findFirstOrThrow({ where: { name: "width=16 seed=0" } });
    await database.db.run.update({ where: { id: failed.id }, data: { status: "failed", error: "boom" } });
    const narrower = wider.replace("from: 16", "from: 32");
    const plan = await caller().spec.plan({ teamId, source: narrower });
    expect(plan.remove.map((run) => run.name).sort()).toEqual([
      "width=16 seed=0",
      "width=16 seed=1",
      "width=16 seed=2",
    ]);

    const kept = await caller().spec.applySpec({ teamId, source: narrower });
    expect(kept.canceled).toEqual([]);
    expect(await database.db.run.count({ where: { status: "queued", name: { startsWith: "width=16 " } } })).toBe(2);

    const pruned = await caller().spec.applySpec({ teamId, source: narrower, prune: true });
    expect(pruned.canceled).toHaveLength(2);
    expect(await database.db.run.count({ where: { name: { startsWith: "width=16 " } } })).toBe(3);
    expect(await database.db.run.count({ where: { status: "canceled", name: { startsWith: "width=16 " } } })).toBe(2);
    expect((await queuedJobs()).some((job) => pruned.canceled.includes(job.runId))).toBe(false);

    const failing = await database.db.run.findFirstOrThrow({ where: { name: "width=32 seed=1" } });
    await database.db.run.update({ where: { id: failing.id }, data: { status: "diverged" } });
    const withoutFlag = await caller().spec.applySpec({ teamId, source: narrower });
    expect(withoutFlag.plan.retry.map((run) => run.runId)).toEqual([failing.id]);
    expect(withoutFlag.retried).toEqual([]);
    const retried = await caller().spec.applySpec({ teamId, source: narrower, retryFailed: true });
    expect(retried.retried).toEqual([failing.id]);
    expect((await database.db.run.findUniqueOrThrow({ where: { id: failing.id } })).status).toBe("queued");
  });

  it("queues a command spec's runs where only workers that allow commands look, and the plan says when none is live", async () => {
    const source = example
      .replace("experiment: ", "experiment: command-")
      .concat(`\nrunner: { kind: command, argv: ["python3", "train.py"] }\n`);
    const planned = await caller().spec.plan({ teamId, source, fileName: "command.yaml" });
    expect(planned.commands).toEqual({
      runs: 21,
      workersAllowingCommands: 0,
      waiting: "these runs will wait: no worker allows commands",
    });
    // A live worker that does not allow commands changes nothing; one of another team neither.
    const otherTeam = await createTeamWith(database.db, { [(await createUser(database.db, "Olga")).id]: "admin" });
    await database.db.worker.create({ data: { name: "plain", host: "h", pid: 1, allowsCommands: false } });
    await database.db.worker.create({
      data: { name: "theirs", host: "h", pid: 2, allowsCommands: true, teamId: otherTeam.id },
    });
    // A silent one that allows commands does not count either.
    await database.db.worker.create({
      data: { name: "silent", host: "h", pid: 3, allowsCommands: true, heartbeatAt: new Date(Date.now() - 5 * 60_000) },
    });
    expect((await caller().spec.plan({ teamId, source, fileName: "command.yaml" })).commands?.waiting).toBe(
      "these runs will wait: no worker allows commands",
    );

    const applied = await caller().spec.applySpec({ teamId, source, fileName: "command.yaml" });
    const commandJobs = (await queuedJobs("train-command")).map((job) => job.runId);
    expect(commandJobs.sort()).toEqual([...applied.created].sort());
    expect((await queuedJobs()).filter((job) => applied.created.includes(job.runId))).toEqual([]);

    await database.db.worker.create({ data: { name: "allows", host: "h", pid: 4, allowsCommands: true, teamId } });
    expect((await caller().spec.plan({ teamId, source, fileName: "command.yaml" })).commands).toEqual({
      runs: 21,
      workersAllowingCommands: 1,
      waiting: null,
    });
    // A built-in spec has nothing to say about commands.
    expect(
      (await caller().spec.plan({ teamId, source: example, fileName: "mlp-width-scaling.yaml" })).commands,
    ).toBeNull();
    await database.db.worker.deleteMany({});
  });

  it("keeps every spec version and diffs them", async () => {
    const experiment = await database.db.experiment.findFirstOrThrow({ where: { name: "mlp-width" } });
    const versions = await caller().spec.versions({ experimentId: experiment.id });
    expect(versions.map((version) => version.version)).toEqual([3, 2, 1]);
    const diff = await caller().spec.diff({ experimentId: experiment.id, from: 1, to: 2 });
    expect(diff.patch).toContain("-    model.width: { range: { from: 16, to: 1024, step: 2, log: true } }");
    expect(diff.patch).toContain("+    model.width: { range: { from: 16, to: 2048, step: 2, log: true } }");
  });

  it("never creates a cell twice when the same spec is applied concurrently", async () => {
    const source = example.replace("experiment: mlp-width", "experiment: mlp-width-concurrent");
    const results = await Promise.all([1, 2, 3].map(() => caller().spec.applySpec({ teamId, source })));
    expect(results.reduce((sum, result) => sum + result.created.length, 0)).toBe(21);
    const experiment = await database.db.experiment.findFirstOrThrow({ where: { name: "mlp-width-concurrent" } });
    expect(await database.db.run.count({ where: { experimentId: experiment.id } })).toBe(21);
  });

  it("rejects a bad spec with located issues and changes nothing", async () => {
    const before = await database.db.run.count();
    const versionsBefore = await database.db.specVersion.count();
    const broken = example.replace("  width: 64\n", "  widht: 64\n");
    const error = await caller()
      .spec.applySpec({ teamId, source: broken, fileName: "broken.yaml" })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/broken\.yaml:\d+:\d+: model\.widht: unknown key "widht"; did you mean "width"\?/),
    });
    expect(await database.db.run.count()).toBe(before);
    expect(await database.db.specVersion.count()).toBe(versionsBefore);

    const validation = await caller().spec.validate({ source: broken, fileName: "broken.yaml" });
    expect(validation.ok).toBe(false);
    expect(validation.issues[0]).toMatchObject({ path: "model.widht", line: 16, column: 3 });
  });
});

describe("the examples", () => {
  it("each plans and applies, and applying again is a no-op", async () => {
    const { readdir } = await import("node:fs/promises");
    const folder = path.resolve(import.meta.dirname, "../../examples");
    const files = (await readdir(folder)).filter((file) => file.endsWith(".yaml")).sort();
    expect(files).toEqual([
      "char-lm-names.yaml",
      "compute-optimal.yaml",
      "linear-regression.yaml",
      "mlp-width-scaling.yaml",
      "python-command.yaml",
    ]);
    for (const file of files) {
      const source = (await readFile(path.join(folder, file), "utf8")).replace(
        /^experiment: (.*)$/m,
        "experiment: $1-examples-test",
      );
      const plan = await caller().spec.plan({ teamId, source, fileName: file });
      expect(plan.create.length, file).toBeGreaterThan(0);
      expect(
        plan.create.every((cell) => cell.sizeError === null && cell.paramCount! > 0),
        file,
      ).toBe(true);
      const applied = await caller().spec.applySpec({ teamId, source, fileName: file });
      expect(applied.created.length, file).toBe(plan.create.length);
      const again = await caller().spec.applySpec({ teamId, source, fileName: file });
      expect(again.created, file).toEqual([]);
    }
  });
});
