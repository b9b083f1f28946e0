import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { ZScalingAnalysis } from "../../server/domain/scaling/scaling-analysis.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { runScaleboard, type CliResult } from "../helpers/run-cli.ts";
import { startV1Server } from "../helpers/v1-server.ts";

/**
 * `scaleboard import scaling-table` (issue #15, item 5) with a real published table: the 245 runs of
 * Hoffmann et al. 2022 as digitised by Besiroglu et al. 2024 (test/fixtures/scaling/README.md), then
 * the joint L(N, D) fit read back through GET /api/v1/experiments/{id}/scaling.
 */

let database: TestDatabase;
let scratch: string;
let server: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = await mkdtemp(path.join(os.tmpdir(), "sb-scaling-table-"));
  server = await startV1Server(database.db);
});
afterAll(async () => {
  await server.close();
  await database.drop();
  await rm(scratch, { recursive: true, force: true });
});

function cli(args: string[]): Promise<CliResult> {
  return runScaleboard(args, { DATABASE_URL: database.url, SCALEBOARD_AUTH: "" });
}

async function get(route: string, key: string) {
  const response = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("scaleboard import scaling-table", () => {
  it("imports the Chinchilla table as 245 succeeded runs, idempotently, and the read API gives its joint fit", async () => {
    const args = ["import", "scaling-table", "test/fixtures/scaling/chinchilla.csv", "--project", "Papers"];
    const first = await cli([...args, "--experiment", "chinchilla", "--json"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const imported = JSON.parse(first.stdout) as { experimentId: string; runs: number; created: number };
    expect(imported).toMatchObject({ runs: 245, created: 245, experimentId: expect.any(String) });

    const again = await cli([...args, "--experiment", "chinchilla", "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({
      experimentId: imported.experimentId,
      runs: 245,
      created: 0,
      unchanged: 245,
    });
    const runs = await database.db.run.findMany({
      where: { experimentId: imported.experimentId },
      select: { status: true, paramCount: true, tokens: true, totalFlops: true, summary: true },
    });
    expect(runs).toHaveLength(245);
    expect(new Set(runs.map((run) => run.status))).toEqual(new Set(["succeeded"]));
    // The first row of the table: N = 6,795,600,349, C = 9.99e18, loss 5.0056.
    const first6B = runs.find((run) => (run.summary as { flops: number }).flops === 9.993852799709755e18)!;
    expect(Number(first6B.paramCount)).toBe(6_795_600_349);
    expect(first6B.tokens! / (9.993852799709755e18 / (6 * 6795600349.289497))).toBeCloseTo(1, 12);
    expect(first6B.summary).toMatchObject({ "val/loss": 5.005581996196243 });

    const team = await database.db.team.findFirstOrThrow({ select: { id: true, memberships: true } });
    const { key } = await createApiKey(database.db, team.id, team.memberships[0]!.userId, {
      name: "reader",
      scope: "ingest",
    });
    const found = await get("/experiments?project=Papers&name=chinchilla", key);
    expect((found.body.experiments as { id: string; runCount: number }[])[0]).toMatchObject({
      id: imported.experimentId,
      runCount: 245,
    });
    const someRun = (await get(`/runs?project=Papers&experiment=chinchilla&limit=1`, key)).body.runs as {
      id: string;
    }[];
    const points = await get(`/runs/${someRun[0]!.id}/points?key=val/loss`, key);
    expect(points.body.points).toHaveLength(1);

    const scaling = await get(`/experiments/${imported.experimentId}/scaling?metric=val/loss&budgetFlops=1e22`, key);
    expect(scaling.status).toBe(200);
    const analysis = ZScalingAnalysis.parse(scaling.body);
    expect(analysis.runs.used).toBe(245);
    // Besiroglu et al. 2024 fit this table to E = 1.82, A = 482, B = 2085, alpha = 0.35, beta = 0.37.
    expect(analysis.joint).not.toBeNull();
    // On all 245 points (they drop the 5 worst) the fit lands near theirs in E and alpha; beta is less determined.
    expect(analysis.joint).toMatchObject({ n: 245, dataUnit: "tokens" });
    expect(analysis.joint!.alpha).toBeGreaterThan(0.3);
    expect(analysis.joint!.alpha).toBeLessThan(0.4);
    expect(analysis.joint!.beta).toBeGreaterThan(0.3);
    expect(analysis.joint!.beta).toBeLessThan(0.6);
    expect(analysis.joint!.E).toBeGreaterThan(1.7);
    expect(analysis.joint!.E).toBeLessThan(2.0);
    // 1e22 FLOPs is within the measured budgets (up to 1.3e22): an answer, with an interval around it.
    expect(analysis.advice).toMatchObject({ ok: true, fit: "joint" });
    const predicted = analysis.advice!.predictedLoss!;
    expect(predicted.low!).toBeLessThan(predicted.value);
    expect(predicted.high!).toBeGreaterThan(predicted.value);
  }, 300_000);

  it("names the line and column of every bad cell and imports nothing", async () => {
    const file = path.join(scratch, "bad.csv");
    await writeFile(file, "params,tokens,loss,width\n1e6,2e7,3.1,64\n-5,2e7,3.0,128\nabc,2e7,nan,256\n");
    const result = await cli(["import", "scaling-table", file, "--experiment", "bad"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bad.csv:3: column "params": "-5" is not a positive number');
    expect(result.stderr).toContain('bad.csv:4: column "params": "abc" is not a positive number');
    expect(result.stderr).toContain('bad.csv:4: column "loss": "nan" is not a finite number');
    expect(await database.db.experiment.count({ where: { name: "bad" } })).toBe(0);

    await writeFile(file, "params,loss\n1e6,3.1\n");
    const header = await cli(["import", "scaling-table", file, "--experiment", "bad"]);
    expect(header.code).toBe(1);
    expect(header.stderr).toContain('bad.csv:1: the header lacks "tokens"');
  });

  it("keeps other columns as config, records flops as 6·N·D when absent, and honours --metric", async () => {
    const file = path.join(scratch, "widths.csv");
    await writeFile(file, "width,params,tokens,loss,seed,optimizer\n64,1e6,2e7,3.1,1,adam\n128,4e6,2e7,2.9,1,adam\n");
    const result = await cli(["import", "scaling-table", file, "--metric", "eval/loss", "--json"]);
    expect(result.code).toBe(0);
    const { experimentId } = JSON.parse(result.stdout) as { experimentId: string };
    const runs = await database.db.run.findMany({
      where: { experimentId },
      orderBy: { paramCount: "asc" },
      select: { config: true, totalFlops: true, summary: true },
    });
    expect(runs[0]).toMatchObject({
      config: { params: { width: 64, optimizer: "adam", seed: 1 } },
      totalFlops: 6 * 1e6 * 2e7,
      summary: { "eval/loss": 3.1 },
    });
  });
});
