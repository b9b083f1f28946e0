import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { runScaleboard, type CliResult } from "../helpers/run-cli.ts";
import { startV1Server } from "../helpers/v1-server.ts";
import {
  eventFile,
  fileVersionEvent,
  simpleValue,
  summaryEvent,
  tensorValue,
  tfRecord,
} from "../fixtures/imports/tfevents-writer.ts";

let database: TestDatabase;
let scratch: string;

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = await mkdtemp(path.join(os.tmpdir(), "sb-import-"));
});
afterAll(async () => {
  await database.drop();
  await rm(scratch, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runScaleboard(args, { DATABASE_URL: database.url, SCALEBOARD_AUTH: "", ...env });
}

async function runsOf(project: string, experiment: string) {
  return database.db.run.findMany({
    where: { experiment: { name: experiment, project: { name: project } } },
    orderBy: { name: "asc" },
    select: {
      id: true,
      name: true,
      status: true,
      step: true,
      progress: true,
      tags: true,
      notes: true,
      wallClockSeconds: true,
      backend: true,
    },
  });
}

async function pointsOf(runId: string, key: string) {
  return (await readLoggedPoints(database.db, { runId, key })).map(({ step, value, wallTime }) => ({
    step,
    value,
    wallTime,
  }));
}

describe("scaleboard import csv", () => {
  it("creates one finished run per run name, with NaN and the infinities stored as such", async () => {
    const result = await cli(["import", "csv", "test/fixtures/imports/metrics.csv", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({
      format: "csv",
      project: "Imports",
      experiment: "metrics",
      points: 7,
      warnings: [],
    });
    expect(
      summary.runs.map((run: { name: string; points: number; keys: number; lastStep: number }) => [
        run.name,
        run.points,
        run.keys,
        run.lastStep,
      ]),
    ).toEqual([
      ["baseline", 3, 2, 1],
      ["wide", 4, 2, 2],
    ]);

    const runs = await runsOf("Imports", "metrics");
    expect(runs.map((run) => [run.name, run.status, run.step, run.progress, run.tags, run.backend])).toEqual([
      ["baseline", "succeeded", 1, 1, ["imported"], "external"],
      ["wide", "succeeded", 2, 1, ["imported"], "external"],
    ]);
    expect(runs[0]!.wallClockSeconds).toBe(1.5);
    expect(runs[0]!.notes).toMatch(/^Imported from CSV .*metrics\.csv$/);
    const [baseline, wide] = runs;
    expect(await pointsOf(baseline!.id, "train/loss")).toEqual([
      { step: 0, value: 2.5, wallTime: 1_700_000_000 },
      { step: 1, value: 1.75, wallTime: 1_700_000_001.5 },
    ]);
    expect(await pointsOf(baseline!.id, "val/acc")).toEqual([{ step: 1, value: 0.5, wallTime: null }]);
    expect((await pointsOf(wide!.id, "train/loss")).map((point) => [point.step, point.value])).toEqual([
      [0, 2.25],
      [1, Number.NaN],
      [2, Number.POSITIVE_INFINITY],
    ]);
    expect((await pointsOf(wide!.id, "grad_norm")).map((point) => point.value)).toEqual([Number.NEGATIVE_INFINITY]);
    const series = await database.db.metricSeries.findFirstOrThrow({ where: { runId: wide!.id, key: "train/loss" } });
    expect(series).toMatchObject({ pointCount: 3, firstStep: 0, lastStep: 2, minValue: 2.25 });

    // Imported runs are runs like any other: `status` lists them.
    const status = await cli(["status", "metrics", "--json"]);
    expect(status.code).toBe(0);
    expect(
      JSON.parse(status.stdout)
        .map((run: { name: string; status: string }) => `${run.name}:${run.status}`)
        .sort(),
    ).toEqual(["baseline:succeeded", "wide:succeeded"]);
  });

  it("ingests more than 10,000 points in batches, into the project and experiment given", async () => {
    const file = path.join(scratch, "long.csv");
    const rows = Array.from({ length: 25_000 }, (_, step) => `big,loss,${step},${1 / (step + 1)}`);
    await writeFile(
      file,
      `step,value,key,run\n${rows
        .map((row) => row.split(","))
        .map(([run, key, step, value]) => `${step},${value},${key},${run}`)
        .join("\n")}\n`,
    );
    const result = await cli(["import", "csv", file, "--project", "Bulk", "--experiment", "long run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Imported 1 run(s), 25,000 point(s) into Bulk / long run");
    const [run] = await runsOf("Bulk", "long run");
    const series = await database.db.metricSeries.findFirstOrThrow({ where: { runId: run!.id, key: "loss" } });
    expect(series).toMatchObject({ pointCount: 25_000, firstStep: 0, lastStep: 24_999, lastValue: 1 / 25_000 });
  });

  it("rejects a file with bad rows, naming file:line and column, and imports nothing", async () => {
    const before = await database.db.run.count();
    const result = await cli(["import", "csv", "test/fixtures/imports/bad-rows.csv"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('test/fixtures/imports/bad-rows.csv:3: column "value": "one" is not a number');
    expect(result.stderr).toContain("test/fixtures/imports/bad-rows.csv:7: 3 field(s), but the header has 4");
    expect(result.stderr).toContain("Nothing was imported.");
    expect(await database.db.run.count()).toBe(before);

    const json = await cli(["import", "csv", "test/fixtures/imports/bad-rows.csv", "--json"]);
    expect(JSON.parse(json.stdout).error.issues[0]).toEqual({
      file: "test/fixtures/imports/bad-rows.csv",
      line: 3,
      column: "value",
      message: '"one" is not a number (write nan, inf or -inf for those)',
    });
    const missing = await cli(["import", "csv", "no/such.csv"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no/such.csv: no such file");
  });

  it("answers usage mistakes with exit code 2", async () => {
    expect((await cli(["import"])).code).toBe(2);
    const unknown = await cli(["import", "parquet", "x.parquet"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown format "parquet"');
    expect((await cli(["import", "csv"])).code).toBe(2);
    expect((await cli(["import", "csv", "a.csv", "b.csv"])).code).toBe(2);
    const help = await cli(["import", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("tensorboard DIR");
  });
});

describe("scaleboard import tensorboard", () => {
  it("makes one run per folder, reads simple and tensor scalars, and skips a corrupt record with a warning", async () => {
    const logdir = path.join(scratch, "tb-logs");
    await mkdir(path.join(logdir, "lr=0.1", "train"), { recursive: true });
    await mkdir(path.join(logdir, "lr=0.01"), { recursive: true });
    const good = [
      fileVersionEvent(100),
      summaryEvent(101, 0, simpleValue("loss", 2)),
      summaryEvent(102, 10, simpleValue("loss", 1.5)),
    ];
    const corrupted = summaryEvent(103, 20, simpleValue("loss", 1));
    const bytes = eventFile(
      ...good,
      corrupted,
      summaryEvent(104, 30, simpleValue("loss", 0.5), simpleValue("weird", Number.NaN)),
    );
    const corruptAt = good.map(tfRecord).reduce((sum, record) => sum + record.length, 0);
    bytes[corruptAt + 14] = bytes[corruptAt + 14]! ^ 0x01;
    const trainFile = path.join(logdir, "lr=0.1", "train", "events.out.tfevents.1700000000.host.1.0");
    await writeFile(trainFile, bytes);
    await writeFile(
      path.join(logdir, "lr=0.01", "events.out.tfevents.1700000000.host.2.v2"),
      eventFile(
        fileVersionEvent(200),
        summaryEvent(201, 0, tensorValue("epoch_loss", 3, { dtype: "float", encoding: "content" })),
        summaryEvent(205, 1, tensorValue("epoch_loss", 0.25, { dtype: "double", encoding: "val" })),
      ),
    );

    const result = await cli(["import", "tensorboard", logdir, "--project", "TB"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Imported 2 run(s), 6 point(s) into TB / tb-logs");
    expect(result.stderr).toContain(
      `warning: ${trainFile} at byte ${corruptAt}: corrupt record: the data's checksum does not match`,
    );

    const runs = await runsOf("TB", "tb-logs");
    expect(runs.map((run) => [run.name, run.status, run.step])).toEqual([
      ["lr=0.01", "succeeded", 1],
      ["lr=0.1/train", "succeeded", 30],
    ]);
    expect(runs[0]!.wallClockSeconds).toBe(4);
    expect(await pointsOf(runs[0]!.id, "epoch_loss")).toEqual([
      { step: 0, value: 3, wallTime: 201 },
      { step: 1, value: 0.25, wallTime: 205 },
    ]);
    expect((await pointsOf(runs[1]!.id, "loss")).map((point) => [point.step, point.value])).toEqual([
      [0, 2],
      [10, 1.5],
      [30, 0.5],
    ]);
    expect((await pointsOf(runs[1]!.id, "weird")).map((point) => point.value)).toEqual([Number.NaN]);
  });

  it("says when there is nothing to import", async () => {
    const empty = path.join(scratch, "no-events");
    await mkdir(empty, { recursive: true });
    const result = await cli(["import", "tensorboard", empty]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no events.out.tfevents.* files in it or below it");
  });
});

describe("scaleboard import --server", () => {
  it("imports through /api/v1 with an ingest key, NaN and infinities included", async () => {
    const server = await startV1Server(database.db);
    try {
      const admin = await createUser(database.db);
      const team = await createTeamWith(database.db, { [admin.id]: "admin" });
      const { key } = await createApiKey(database.db, team.id, admin.id, { name: "import", scope: "ingest" });
      const result = await cli(
        [
          "import",
          "csv",
          "test/fixtures/imports/metrics.csv",
          "--server",
          server.url.replace(/\/api\/v1$/, ""),
          "--project",
          "Remote",
          "--json",
        ],
        {
          SCALEBOARD_API_KEY: key,
          DATABASE_URL: "",
        },
      );
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).points).toBe(7);
      const runs = await database.db.run.findMany({
        where: { experiment: { project: { teamId: team.id, name: "Remote" } } },
        orderBy: { name: "asc" },
        select: { id: true, name: true, status: true, step: true },
      });
      expect(runs.map((run) => [run.name, run.status, run.step])).toEqual([
        ["baseline", "succeeded", 1],
        ["wide", "succeeded", 2],
      ]);
      expect((await pointsOf(runs[1]!.id, "train/loss")).map((point) => point.value)).toEqual([
        2.25,
        Number.NaN,
        Number.POSITIVE_INFINITY,
      ]);

      const refused = await cli(
        ["import", "csv", "test/fixtures/imports/metrics.csv", "--server", server.url.replace(/\/api\/v1$/, "")],
        { SCALEBOARD_API_KEY: "sb_wrong", DATABASE_URL: "" },
      );
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/refused POST \/api\/v1\/runs \(401\)/);
    } finally {
      await server.close();
    }
  });
});
