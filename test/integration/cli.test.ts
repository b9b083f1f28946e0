import { describe, expect, it } from "vitest";
import { localCliSuite } from "../helpers/local-cli.ts";

const EXAMPLE = "examples/mlp-width-scaling.yaml";
const local = localCliSuite();
const cli = local.cli;

describe("scaleboard CLI on the local database", () => {
  it("plans with --json arrays create, unchanged, retry and remove", async () => {
    const result = await cli("plan", EXAMPLE, "--json");
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.create).toHaveLength(21);
    expect(plan.unchanged).toEqual([]);
    expect(plan.retry).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(plan.create[0]).toMatchObject({ name: "width=16 seed=0", paramCount: 561 });
  });

  it("refuses to apply without --yes when nobody can answer, and changes nothing", async () => {
    const result = await cli("apply", EXAMPLE);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("--yes");
    expect(await local.database.db.run.count()).toBe(0);
  });

  it("applies once with --yes, then re-applying is a no-op", async () => {
    const first = await cli("apply", EXAMPLE, "--yes");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("Applied: 21 new run(s) queued");
    const again = await cli("apply", EXAMPLE, "--yes");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to do");
    expect(await local.database.db.run.count()).toBe(21);
  });

  it("reports every problem of a bad spec with file:line:column and exits 1", async () => {
    const result = await cli("apply", "test/fixtures/cli/bad.yaml", "--yes");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /test\/fixtures\/cli\/bad\.yaml:\d+:\d+: model\.widht: unknown key "widht"; did you mean "width"\?/,
    );
    expect(result.stderr).toMatch(/bad\.yaml:\d+:\d+: training\.optimizer\.lr: lr must be above 0/);
    expect(result.stderr).toContain("nothing was changed");
    expect(await local.database.db.run.count()).toBe(21);
  });

  it("shows status, cancels an experiment's queued runs, and names a missing file", async () => {
    const status = await cli("status", "mlp-width", "--json");
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toHaveLength(21);
    const canceled = await cli("cancel", "mlp-width");
    expect(canceled.code).toBe(0);
    expect(canceled.stdout).toContain("Canceled 21 queued run(s)");
    expect(await local.database.db.run.count({ where: { status: "canceled" } })).toBe(21);
    const missing = await cli("plan", "no/such/spec.yaml");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no/such/spec.yaml: no such file");
    const usage = await cli("frobnicate");
    expect(usage.code).toBe(2);
  });

  it("prints a run's log", async () => {
    const run = await local.database.db.run.findFirstOrThrow();
    await local.database.db.runLog.createMany({
      data: [
        { runId: run.id, line: "epoch 1 loss 0.5" },
        { runId: run.id, line: "epoch 2 loss 0.4" },
      ],
    });
    const result = await cli("logs", run.id);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("epoch 1 loss 0.5\nepoch 2 loss 0.4\n");
  });
});
