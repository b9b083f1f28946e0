/**
 * Ingest bench: points/s through the HTTP logging API against raw COPY of the same points into the
 * same tables, in one run, on a fresh database.
 *
 *   API:  POST /api/v1/runs/:id/points with batches of 1,000 points (250 steps x 4 keys) and an
 *         ingest-scoped Bearer key, from 4 concurrent clients. The clients run in a child process
 *         (like training scripts would); the server is handleV1, the handler the Next.js route
 *         app/api/v1/[...path]/route.ts calls, behind a plain node:http server in this process
 *         (test/helpers/v1-server.ts), so Next.js's own routing is not counted.
 *   COPY: the same points, COPY ... FROM STDIN into the OLD row-per-point layout (MetricSeries,
 *         MetricPoint and MetricSummary as they were before chunked storage, created in a schema `old`;
 *         summaries computed here beforehand), once over one connection and once over 4 concurrent
 *         ones; the faster is the baseline. Goal: API (writing chunks) >= 100% of it.
 *   Footprint: bytes a point on disk (MetricChunk and MetricSeries with TOAST and indexes) at
 *         10,000,000 points in long series (100 x 100,000) and in short ones (10,000 x 1,000), written
 *         by ingestPoints; --footprint-scale scales the points (1 = 10,000,000 each).
 *
 * Every phase starts from empty metric tables (TRUNCATE, CHECKPOINT) and is checked afterwards: the
 * stored point and summary counts must match what was sent. Each rep runs the three phases back to
 * back; the fastest of each is kept. The CPU time of PostgreSQL's backends (read from /proc when the
 * server is local) and of the Node processes is reported too: on a machine shared with other work,
 * CPU per point is the steadier comparison.
 *
 * Run: npx tsx test/bench/ingest-bench.ts [--quick] [--points 1000000] [--reps 2] [--out FILE] [--keep]
 *   --quick   128,000 points and 1 rep instead of 1,000,000 and 2
 *   --points  points per phase (a multiple of 8,000: 8 runs x batches of 1,000)
 *   --keep    leave the database in place (its name is printed)
 * Creates (and drops) its own database on TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 * Prints a Markdown table and writes test/bench/results-ingest.json.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { migrateDatabase } from "../../server/database/migrate.ts";
import { createDb, type Db } from "../../server/db.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { startV1Server } from "../helpers/v1-server.ts";
import { createBenchDatabase, log, percentile, readArgs, ROOT, writeResult } from "./bench-harness.ts";

const KEYS = ["train/loss", "train/accuracy", "val/loss", "lr"];
const STEPS_PER_BATCH = 250;
const BATCH_POINTS = STEPS_PER_BATCH * KEYS.length;
const CLIENTS = 4;
const RUNS_PER_CLIENT = 2;
const RUNS = CLIENTS * RUNS_PER_CLIENT;
const FULL_POINTS = 1_000_000;

/**
 * The row-per-point layout before chunked storage (migrations up to 20261203180500), in a schema of
 * its own: the COPY baseline writes there, as the issue asks (raw COPY into the old table).
 */
const OLD_LAYOUT_SQL = `
  CREATE SCHEMA old;
  CREATE TABLE old."MetricSeries" (id TEXT PRIMARY KEY, "runId" TEXT NOT NULL REFERENCES "Run"(id) ON DELETE CASCADE, key TEXT NOT NULL,
    "pointCount" INTEGER NOT NULL DEFAULT 0, "firstStep" INTEGER, "lastStep" INTEGER, "lastValue" DOUBLE PRECISION,
    "minValue" DOUBLE PRECISION, "maxValue" DOUBLE PRECISION, "updatedAt" TIMESTAMP(3) NOT NULL, "experimentId" TEXT);
  CREATE UNIQUE INDEX ON old."MetricSeries" ("runId", key);
  CREATE INDEX ON old."MetricSeries" ("experimentId", key, "lastValue", "runId");
  CREATE INDEX ON old."MetricSeries" ("experimentId", key, "minValue", "runId");
  CREATE INDEX ON old."MetricSeries" ("experimentId", key, "maxValue", "runId");
  CREATE TABLE old."MetricPoint" ("seriesId" TEXT NOT NULL REFERENCES old."MetricSeries"(id) ON DELETE CASCADE, step INTEGER NOT NULL,
    value DOUBLE PRECISION NOT NULL, "wallTime" DOUBLE PRECISION, PRIMARY KEY ("seriesId", step));
  CREATE TABLE old."MetricSummary" ("seriesId" TEXT NOT NULL REFERENCES old."MetricSeries"(id) ON DELETE CASCADE, level INTEGER NOT NULL,
    bucket INTEGER NOT NULL, "firstStep" INTEGER NOT NULL, "lastStep" INTEGER NOT NULL, count INTEGER NOT NULL,
    "minValue" DOUBLE PRECISION NOT NULL, "maxValue" DOUBLE PRECISION NOT NULL, "sumValue" DOUBLE PRECISION NOT NULL,
    "firstValue" DOUBLE PRECISION NOT NULL, "lastValue" DOUBLE PRECISION NOT NULL, "minStep" INTEGER, "maxStep" INTEGER,
    "nonFiniteStep" INTEGER, PRIMARY KEY ("seriesId", level, bucket));`;
/** The old layout's summary levels: level L cut the steps into buckets of 4^(L+1). */
const SUMMARY_LEVELS = [1, 2, 3, 4, 5, 6, 7];
const SUMMARY_WIDTHS: Record<number, number> = Object.fromEntries(
  SUMMARY_LEVELS.map((level) => [level, 4 ** (level + 1)]),
);

type Point = { key: string; step: number; value: number; wallTime: number };
/** What the HTTP client process is told: one list of run ids per client, and how many batches each run gets. */
type ClientPlan = { url: string; key: string; runsByClient: string[][]; batchesPerRun: number };
type ClientResult = {
  seconds: number;
  requests: number;
  points: number;
  latencyMs: { p50: number; p95: number; max: number };
  cpuSeconds: number;
};

/** The points of one batch of one run: 250 consecutive steps of 4 metrics, deterministic so both paths send the same. */
function batchPoints(runIndex: number, batchIndex: number): Point[] {
  const points: Point[] = [];
  for (let offset = 0; offset < STEPS_PER_BATCH; offset++) {
    const step = batchIndex * STEPS_PER_BATCH + offset;
    const noise = Math.sin(step * 0.37 + runIndex) * 0.02;
    const loss = (2 / (1 + step / 1000)) * (1 + noise);
    const wallTime = 1.7e9 + runIndex * 1e5 + step * 0.05;
    points.push(
      { key: "train/loss", step, value: loss, wallTime },
      { key: "train/accuracy", step, value: 1 - loss / 2.5, wallTime },
      { key: "val/loss", step, value: loss * 1.1 + 0.01, wallTime },
      { key: "lr", step, value: 1e-3 * Math.min(1, (step + 1) / 2000), wallTime },
    );
  }
  return points;
}

function parseArgs(argv: string[]) {
  const usage =
    "npx tsx test/bench/ingest-bench.ts [--quick] [--points 1000000] [--reps 2] [--footprint-scale 1] [--out FILE] [--keep]";
  const { switches, values } = readArgs(argv, {
    usage,
    switches: ["--quick", "--keep"],
    values: ["--points", "--reps", "--out", "--client-plan", "--footprint-scale"],
  });
  const quick = switches.has("--quick");
  const args = {
    points: Number(values.get("--points") ?? (quick ? 128_000 : FULL_POINTS)),
    reps: Number(values.get("--reps") ?? (quick ? 1 : 2)),
    out: path.resolve(values.get("--out") ?? path.join(ROOT, "test/bench/results-ingest.json")),
    keep: switches.has("--keep"),
    clientPlan: values.get("--client-plan") ?? null,
    footprintScale: Number(values.get("--footprint-scale") ?? (quick ? 0.01 : 1)),
  };
  if (
    !Number.isInteger(args.points) ||
    args.points < BATCH_POINTS * RUNS ||
    args.points % (BATCH_POINTS * RUNS) !== 0
  ) {
    throw new Error(
      `--points: a multiple of ${(BATCH_POINTS * RUNS).toLocaleString("en")} (${RUNS} runs x batches of ${BATCH_POINTS})`,
    );
  }
  if (!Number.isInteger(args.reps) || args.reps < 1) throw new Error("--reps: a whole number of at least 1");
  return args;
}

/**
 * The HTTP clients, in their own process: each posts its runs' batches one request at a time,
 * round-robin over its runs (bodies serialized beforehand). The timer starts when all four start and stops at the last answer.
 */
async function runClients(plan: ClientPlan): Promise<ClientResult> {
  const latencies: number[] = [];
  let points = 0;
  // The bodies are serialized before the timer starts, as the COPY text is prepared before its timer:
  // both sides time sending and storing, not building the data.
  const bodies = plan.runsByClient.map((runIds, client) =>
    Array.from({ length: plan.batchesPerRun }, (_, batch) =>
      runIds.map((_, position) => JSON.stringify({ points: batchPoints(client * RUNS_PER_CLIENT + position, batch) })),
    ),
  );
  const cpuAtStart = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    plan.runsByClient.map(async (runIds, client) => {
      for (let batch = 0; batch < plan.batchesPerRun; batch++) {
        for (const [position, runId] of runIds.entries()) {
          const body = bodies[client]![batch]![position]!;
          const sent = performance.now();
          const response = await fetch(`${plan.url}/runs/${runId}/points`, {
            method: "POST",
            headers: { authorization: `Bearer ${plan.key}`, "content-type": "application/json" },
            body,
          });
          const answer = (await response.json()) as { stored?: number; error?: { message: string } };
          if (response.status !== 200 || answer.stored !== BATCH_POINTS)
            throw new Error(`POST points answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
          latencies.push(performance.now() - sent);
          points += BATCH_POINTS;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  latencies.sort((a, b) => a - b);
  return {
    seconds,
    requests: latencies.length,
    points,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      max: latencies.at(-1) ?? Number.NaN,
    },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** Starts this file again as the client process and waits for its result line. */
function spawnClients(plan: ClientPlan): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", import.meta.filename, "--client-plan", JSON.stringify(plan)],
      { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) => {
      const last = output.trim().split("\n").at(-1) ?? "";
      if (code !== 0) reject(new Error(`the client process exited with ${code}: ${output.slice(-500)}`));
      else resolve(JSON.parse(last) as ClientResult);
    });
  });
}

/** float8 text that PostgreSQL reads back exactly. */
function float8(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return String(value);
}

/** The id ingestPoints gives a run's series. */
function seriesId(runId: string, key: string): string {
  return `s${createHash("md5").update(`${runId}/${key}`).digest("hex")}`;
}

type SeriesPoints = { id: string; runId: string; key: string; steps: number[]; values: number[]; wallTimes: number[] };

/** One run's points grouped by series, in step order. */
function seriesOfRun(runId: string, runIndex: number, batchesPerRun: number): SeriesPoints[] {
  const byKey = new Map(
    KEYS.map((key) => [
      key,
      {
        id: seriesId(runId, key),
        runId,
        key,
        steps: [] as number[],
        values: [] as number[],
        wallTimes: [] as number[],
      },
    ]),
  );
  for (let batch = 0; batch < batchesPerRun; batch++) {
    for (const point of batchPoints(runIndex, batch)) {
      const series = byKey.get(point.key)!;
      series.steps.push(point.step);
      series.values.push(point.value);
      series.wallTimes.push(point.wallTime);
    }
  }
  return [...byKey.values()];
}

/**
 * COPY text for the rows the API path leaves behind for these series: the series rows with their
 * counts and ranges, the points, and every summary level (write-summaries.ts's definition: ties keep
 * the earliest minimum and the latest maximum; the bench's values are all finite).
 */
function copyText(seriesList: SeriesPoints[]): {
  series: string;
  points: string;
  summaries: string;
  summaryRows: number;
} {
  const now = new Date().toISOString();
  const series: string[] = [];
  const points: string[] = [];
  const summaries: string[] = [];
  for (const s of seriesList) {
    const last = s.steps.length - 1;
    const min = s.values.reduce((a, b) => Math.min(a, b));
    const max = s.values.reduce((a, b) => Math.max(a, b));
    series.push(
      `${s.id}\t${s.runId}\t${s.key}\t${s.steps.length}\t${s.steps[0]}\t${s.steps[last]}\t${float8(s.values[last]!)}\t${float8(min)}\t${float8(max)}\t${now}\n`,
    );
    for (let index = 0; index < s.steps.length; index++)
      points.push(`${s.id}\t${s.steps[index]}\t${float8(s.values[index]!)}\t${float8(s.wallTimes[index]!)}\n`);
    for (const level of SUMMARY_LEVELS) {
      const width = SUMMARY_WIDTHS[level]!;
      let start = 0;
      while (start < s.steps.length) {
        const bucket = Math.floor(s.steps[start]! / width);
        let end = start;
        let minAt = start;
        let maxAt = start;
        let sum = 0;
        while (end < s.steps.length && Math.floor(s.steps[end]! / width) === bucket) {
          const value = s.values[end]!;
          if (value < s.values[minAt]!) minAt = end;
          if (value >= s.values[maxAt]!) maxAt = end;
          sum += value;
          end++;
        }
        summaries.push(
          `${s.id}\t${level}\t${bucket}\t${s.steps[start]}\t${s.steps[end - 1]}\t${end - start}\t${float8(s.values[minAt]!)}\t${float8(s.values[maxAt]!)}\t${float8(sum)}\t${float8(s.values[start]!)}\t${float8(s.values[end - 1]!)}\t${s.steps[minAt]}\t${s.steps[maxAt]}\t\\N\n`,
        );
        start = end;
      }
    }
  }
  return {
    series: series.join(""),
    points: points.join(""),
    summaries: summaries.join(""),
    summaryRows: summaries.length,
  };
}

/** COPY ... FROM STDIN with the whole text, sent in 64 KiB CopyData messages (pg has no COPY helper of its own). */
function copyFrom(client: pg.Client, sql: string, text: string): Promise<void> {
  type CopyConnection = { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void };
  return new Promise((resolve, reject) => {
    const query = new pg.Query(sql, (error) => (error ? reject(error) : resolve()));
    Object.assign(query, {
      handleCopyInResponse(connection: CopyConnection) {
        const bytes = Buffer.from(text, "utf8");
        for (let offset = 0; offset < bytes.length; offset += 65_536)
          connection.sendCopyFromChunk(bytes.subarray(offset, offset + 65_536));
        connection.endCopyFrom();
      },
    });
    client.query(query);
  });
}

const COPY_SERIES = `COPY old."MetricSeries" (id, "runId", key, "pointCount", "firstStep", "lastStep", "lastValue", "minValue", "maxValue", "updatedAt") FROM STDIN`;
const COPY_POINTS = `COPY old."MetricPoint" ("seriesId", step, value, "wallTime") FROM STDIN`;
const COPY_SUMMARIES = `COPY old."MetricSummary" ("seriesId", level, bucket, "firstStep", "lastStep", count, "minValue", "maxValue", "sumValue", "firstValue", "lastValue", "minStep", "maxStep", "nonFiniteStep") FROM STDIN`;

type Texts = ReturnType<typeof copyText>;

/** CPU seconds PostgreSQL's backends with these pids have used so far, or null when their /proc entries cannot be read (a remote server). */
function backendCpuSeconds(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name: state is the 1st, utime the 12th and stime the 13th, in clock ticks (100 a second on Linux).
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return null;
    }
  }
  return total;
}

function nodeCpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

type Phase = { seconds: number; databaseCpuSeconds: number | null; nodeCpuSeconds: number };

/** COPYs each text on its own connection, all at once; the seconds from the first COPY to the last commit. */
async function copyAll(url: string, texts: Texts[]): Promise<Phase> {
  const clients = texts.map(() => new pg.Client({ connectionString: url }));
  await Promise.all(clients.map((client) => client.connect()));
  const pids = clients.map((client) => (client as unknown as { processID: number }).processID);
  try {
    const databaseCpuAtStart = backendCpuSeconds(pids);
    const nodeCpuAtStart = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      texts.map(async (text, index) => {
        const client = clients[index]!;
        await copyFrom(client, COPY_SERIES, text.series);
        await copyFrom(client, COPY_POINTS, text.points);
        await copyFrom(client, COPY_SUMMARIES, text.summaries);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const databaseCpu = backendCpuSeconds(pids);
    return {
      seconds,
      databaseCpuSeconds: databaseCpu === null || databaseCpuAtStart === null ? null : databaseCpu - databaseCpuAtStart,
      nodeCpuSeconds: nodeCpuSeconds(process.cpuUsage(nodeCpuAtStart)),
    };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

type Footprint = {
  shape: string;
  series: number;
  steps: number;
  points: number;
  bytes: number;
  bytesPerPoint: number;
  tables: Record<string, number>;
};

/**
 * Bytes a point on disk for one shape of data: `series` series of `steps` steps each (keys x runs),
 * written by ingestPoints a chunk's steps (1,024) at a time for every key of a run, as a training
 * script batching its points would, into empty tables, then VACUUM ANALYZE. Counts every metric
 * table with its TOAST table and indexes (MetricChunk, MetricSeries).
 */
async function measureFootprint(
  db: Db,
  client: pg.Client,
  experimentId: string,
  shape: { name: string; runs: number; keys: number; steps: number },
): Promise<Footprint> {
  await client.query(`TRUNCATE "MetricChunk", "MetricSeries"`);
  const runIds = (
    await client.query<{ id: string }>(
      `INSERT INTO "Run" (id, "experimentId", name, "cellHash", config, "updatedAt")
       SELECT $2 || '-' || i, $1, $2 || '-' || i, $2 || '-' || i, '{}'::jsonb, now() FROM generate_series(1, $3::int) i RETURNING id`,
      [experimentId, shape.name, shape.runs],
    )
  ).rows.map((row) => row.id);
  const keys = Array.from({ length: shape.keys }, (_, index) => (index === 0 ? "train/loss" : `metric/${index}`));
  let done = 0;
  const queue = [...runIds.entries()];
  await Promise.all(
    [0, 1].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [runIndex, runId] = next;
        for (let from = 0; from < shape.steps; from += 1024) {
          const points: Point[] = [];
          for (let step = from; step < Math.min(shape.steps, from + 1024); step++) {
            const noise = Math.sin(step * 0.37 + runIndex) * 0.02;
            const loss = (2 / (1 + step / 1000)) * (1 + noise);
            const wallTime = 1.7e9 + runIndex * 1e5 + step * 0.05;
            for (const [keyIndex, key] of keys.entries())
              points.push({ key, step, value: loss * (1 + keyIndex / 10), wallTime });
          }
          await ingestPoints(db, runId, points, { maxKeys: shape.keys });
        }
        if (++done % Math.max(1, Math.floor(runIds.length / 10)) === 0)
          log(`footprint ${shape.name}: ${done}/${runIds.length} runs`);
      }
    }),
  );
  await client.query(`VACUUM ANALYZE "MetricChunk", "MetricSeries"`);
  const tables: Record<string, number> = {};
  for (const table of ["MetricChunk", "MetricSeries"])
    tables[table] = Number(
      (await client.query<{ bytes: string }>(`SELECT pg_total_relation_size('"${table}"') AS bytes`)).rows[0]!.bytes,
    );
  const [{ points } = { points: "0" }] = (
    await client.query<{ points: string }>(`SELECT coalesce(sum(count), 0) AS points FROM "MetricChunk"`)
  ).rows;
  const bytes = Object.values(tables).reduce((sum, size) => sum + size, 0);
  const series = shape.runs * shape.keys;
  if (Number(points) !== series * shape.steps)
    throw new Error(`footprint ${shape.name}: stored ${points} points, expected ${series * shape.steps}`);
  await client.query(`DELETE FROM "Run" WHERE "experimentId" = $1`, [experimentId]);
  return {
    shape: shape.name,
    series,
    steps: shape.steps,
    points: Number(points),
    bytes,
    bytesPerPoint: bytes / Number(points),
    tables,
  };
}

async function main(args: ReturnType<typeof parseArgs>) {
  const database = await createBenchDatabase("sb_bench_ingest");
  const { name, url } = database;
  const client = new pg.Client({ connectionString: url });
  let db: Db | null = null;
  let server: Awaited<ReturnType<typeof startV1Server>> | null = null;
  const loadAtStart = os.loadavg()[0]!;
  try {
    log(`database ${name}; migrating`);
    await migrateDatabase(url);
    await client.connect();
    await client.query(OLD_LAYOUT_SQL);
    const postgres = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
    db = createDb(url);
    server = await startV1Server(db);
    const user = await createUser(db, "Bench");
    const team = await createTeamWith(db, { [user.id]: "admin" });
    const { key } = await createApiKey(db, team.id, user.id, { name: "ingest bench", scope: "ingest" });

    const createRun = async (index: number) => {
      const response = await fetch(`${server!.url}/runs`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          project: "Ingest bench",
          experiment: "ingest",
          name: `run-${index}`,
          config: { index },
        }),
      });
      if (response.status !== 201) throw new Error(`POST /runs answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { runId: string }).runId;
    };
    const runIds: string[] = [];
    for (let index = 0; index < RUNS; index++) runIds.push(await createRun(index));
    const batchesPerRun = args.points / (RUNS * BATCH_POINTS);

    const resetMetrics = async () => {
      await client.query(
        `TRUNCATE old."MetricSummary", old."MetricPoint", old."MetricSeries", "MetricChunk", "MetricSeries"`,
      );
      await client.query("VACUUM ANALYZE");
      await client.query("CHECKPOINT");
    };
    /** What a phase left: in the old layout after COPY, in the chunks after the API. */
    const stored = async (layout: "old" | "chunks") => {
      const row = (
        await client.query<{ points: string; series: string }>(
          layout === "old"
            ? `SELECT (SELECT count(*) FROM old."MetricPoint") AS points, (SELECT coalesce(sum("pointCount"), 0) FROM old."MetricSeries") AS series`
            : `SELECT (SELECT coalesce(sum(count), 0) FROM "MetricChunk") AS points, (SELECT coalesce(sum("pointCount"), 0) FROM "MetricSeries") AS series`,
        )
      ).rows[0]!;
      return { points: Number(row.points), seriesPointCount: Number(row.series) };
    };

    log(
      `preparing COPY text for ${args.points.toLocaleString("en")} points (${RUNS} runs x ${KEYS.length} keys x ${(batchesPerRun * STEPS_PER_BATCH).toLocaleString("en")} steps)`,
    );
    const texts = runIds.map((runId, index) => copyText(seriesOfRun(runId, index, batchesPerRun)));
    const byClient = Array.from({ length: CLIENTS }, (_, clientIndex) => {
      const mine = texts.slice(clientIndex * RUNS_PER_CLIENT, (clientIndex + 1) * RUNS_PER_CLIENT);
      return {
        series: mine.map((t) => t.series).join(""),
        points: mine.map((t) => t.points).join(""),
        summaries: mine.map((t) => t.summaries).join(""),
        summaryRows: mine.reduce((n, t) => n + t.summaryRows, 0),
      };
    });
    const oneStream = {
      series: texts.map((t) => t.series).join(""),
      points: texts.map((t) => t.points).join(""),
      summaries: texts.map((t) => t.summaries).join(""),
      summaryRows: texts.reduce((n, t) => n + t.summaryRows, 0),
    };
    const expected = { points: args.points, seriesPointCount: args.points };
    const check = async (phase: string) => {
      const found = await stored(phase.startsWith("COPY") ? "old" : "chunks");
      if (JSON.stringify(found) !== JSON.stringify(expected))
        throw new Error(`${phase}: stored ${JSON.stringify(found)}, expected ${JSON.stringify(expected)}`);
    };

    // The API's database connections: every client backend on this database but this bench's own
    // (autovacuum workers are left out, as they are for COPY).
    const serverBackends = async () =>
      (
        await client.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        )
      ).rows.map((row) => row.pid);
    const postApi = async (): Promise<Phase & { clients: ClientResult; serverCpuSeconds: number }> => {
      const before = new Map((await serverBackends()).map((pid) => [pid, backendCpuSeconds([pid])]));
      const serverCpuAtStart = process.cpuUsage();
      const clients = await spawnClients({
        url: server!.url,
        key,
        runsByClient: Array.from({ length: CLIENTS }, (_, c) =>
          runIds.slice(c * RUNS_PER_CLIENT, (c + 1) * RUNS_PER_CLIENT),
        ),
        batchesPerRun,
      });
      const serverCpuSeconds = nodeCpuSeconds(process.cpuUsage(serverCpuAtStart));
      let databaseCpuSeconds: number | null = 0;
      for (const pid of await serverBackends()) {
        const now = backendCpuSeconds([pid]);
        const then = before.has(pid) ? before.get(pid)! : 0;
        databaseCpuSeconds =
          now === null || then === null || databaseCpuSeconds === null ? null : databaseCpuSeconds + now - then;
      }
      return {
        seconds: clients.seconds,
        databaseCpuSeconds,
        nodeCpuSeconds: serverCpuSeconds + clients.cpuSeconds,
        clients,
        serverCpuSeconds,
      };
    };

    const reps: { copyOne: Phase; copyMany: Phase; api: Awaited<ReturnType<typeof postApi>> }[] = [];
    for (let rep = 1; rep <= args.reps; rep++) {
      await resetMetrics();
      log(`rep ${rep}/${args.reps}: COPY over 1 connection`);
      const copyOne = await copyAll(url, [oneStream]);
      await check("COPY x1");
      await resetMetrics();
      log(`rep ${rep}/${args.reps}: COPY over ${CLIENTS} connections`);
      const copyMany = await copyAll(url, byClient);
      await check(`COPY x${CLIENTS}`);
      await resetMetrics();
      log(`rep ${rep}/${args.reps}: API, ${CLIENTS} clients posting batches of ${BATCH_POINTS} points`);
      const api = await postApi();
      await check("API");
      reps.push({ copyOne, copyMany, api });
    }

    // Bytes a point after the API phase (batches of 250 steps: each chunk rewritten as it fills), then for the two shapes.
    await client.query(`VACUUM ANALYZE "MetricChunk", "MetricSeries"`);
    const afterApi = Number(
      (
        await client.query<{ bytes: string }>(
          `SELECT pg_total_relation_size('"MetricChunk"') + pg_total_relation_size('"MetricSeries"') AS bytes`,
        )
      ).rows[0]!.bytes,
    );
    await resetMetrics();
    await copyAll(url, [oneStream]);
    const oldBytes = Number(
      (
        await client.query<{ bytes: string }>(
          `SELECT pg_total_relation_size('old."MetricPoint"') + pg_total_relation_size('old."MetricSeries"') + pg_total_relation_size('old."MetricSummary"') AS bytes`,
        )
      ).rows[0]!.bytes,
    );
    const footprintExperiment = (
      await client.query<{ id: string }>(`SELECT "experimentId" AS id FROM "Run" WHERE id = $1`, [runIds[0]])
    ).rows[0]!.id;
    const scale = args.footprintScale;
    const footprints: Footprint[] = [];
    for (const shape of [
      { name: "long", runs: 25, keys: 4, steps: Math.round(100_000 * scale) },
      { name: "short", runs: Math.round(1000 * scale), keys: 10, steps: 1000 },
    ]) {
      log(`footprint ${shape.name}: ${shape.runs * shape.keys} series x ${shape.steps.toLocaleString("en")} steps`);
      footprints.push(await measureFootprint(db, client, footprintExperiment, shape));
    }

    const fastest = <T extends Phase>(phases: T[]) =>
      phases.reduce((best, phase) => (phase.seconds < best.seconds ? phase : best));
    const copyOne = fastest(reps.map((rep) => rep.copyOne));
    const copyMany = fastest(reps.map((rep) => rep.copyMany));
    const api = fastest(reps.map((rep) => rep.api));
    const rate = (phase: Phase) => args.points / phase.seconds;
    const copyBest = Math.max(rate(copyOne), rate(copyMany));
    const ratio = rate(api) / copyBest;
    // CPU per point, summed over PostgreSQL and Node: what the throughputs would be on cores given to this bench alone.
    const cpuOf = (phase: Phase) =>
      phase.databaseCpuSeconds === null ? null : phase.databaseCpuSeconds + phase.nodeCpuSeconds;
    const copyCpu = [cpuOf(copyOne), cpuOf(copyMany)].filter((cpu): cpu is number => cpu !== null);
    const apiCpu = cpuOf(api);
    const cpuRatio = copyCpu.length && apiCpu ? Math.min(...copyCpu) / apiCpu : null;
    const fmt = (value: number) => Math.round(value).toLocaleString("en");
    const cpuCell = (phase: Phase) =>
      phase.databaseCpuSeconds === null
        ? `Node ${phase.nodeCpuSeconds.toFixed(1)} s (PostgreSQL's not readable)`
        : `PostgreSQL ${phase.databaseCpuSeconds.toFixed(1)} s + Node ${phase.nodeCpuSeconds.toFixed(1)} s`;
    const loadAtEnd = os.loadavg()[0]!;
    const lines = [
      `Ingest bench: PostgreSQL ${postgres}, ${os.cpus().length} cores, Node ${process.version}; ${args.points.toLocaleString("en")} points per phase${args.points < FULL_POINTS ? ` (scaled from ${FULL_POINTS.toLocaleString("en")})` : ""}`,
      `(${RUNS} runs x ${KEYS.length} keys x ${(batchesPerRun * STEPS_PER_BATCH).toLocaleString("en")} steps); COPY writes the old layout's MetricSeries, MetricPoint and ${oneStream.summaryRows.toLocaleString("en")} MetricSummary rows, the API MetricSeries and MetricChunk rows, each into empty tables; fastest of ${args.reps} rep${args.reps > 1 ? "s" : ""}.`,
      "API: an in-process node:http server calling handleV1 (the handler app/api/v1/[...path]/route.ts calls; Next.js's routing is not counted); the clients run in a child process.",
      "",
      "| path | seconds | points/s | vs best COPY | CPU used | notes |",
      "|---|---|---|---|---|---|",
      `| COPY, 1 connection | ${copyOne.seconds.toFixed(2)} | ${fmt(rate(copyOne))} | ${((rate(copyOne) / copyBest) * 100).toFixed(0)}% | ${cpuCell(copyOne)} | series, points and summary rows (summaries computed beforehand, not timed) |`,
      `| COPY, ${CLIENTS} connections | ${copyMany.seconds.toFixed(2)} | ${fmt(rate(copyMany))} | ${((rate(copyMany) / copyBest) * 100).toFixed(0)}% | ${cpuCell(copyMany)} | ${RUNS_PER_CLIENT} runs per connection |`,
      `| API, ${CLIENTS} clients x batches of ${BATCH_POINTS.toLocaleString("en")} | ${api.seconds.toFixed(2)} | ${fmt(rate(api))} | ${(ratio * 100).toFixed(0)}% | ${cpuCell(api)} | ${api.clients.requests} requests, latency p50 ${api.clients.latencyMs.p50.toFixed(0)} ms, p95 ${api.clients.latencyMs.p95.toFixed(0)} ms; Node: server ${api.serverCpuSeconds.toFixed(1)} s, clients ${api.clients.cpuSeconds.toFixed(1)} s |`,
      "",
      `Goal: API >= 100% of COPY's points/s into the old row-per-point layout: ${ratio >= 1 ? "met" : "not met"} (${(ratio * 100).toFixed(0)}%).` +
        (cpuRatio === null
          ? ""
          : ` By CPU time per point (PostgreSQL + Node, less sensitive to other load): ${(cpuRatio * 100).toFixed(0)}%.`) +
        ` Load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end (the machine is shared with other work).`,
      "",
      "| bytes a point on disk (all metric tables, TOAST and indexes) | series x steps | points | bytes | bytes/point | goal |",
      "|---|---|---|---|---|---|",
      `| old row-per-point layout after COPY (MetricSeries, MetricPoint, MetricSummary) | ${RUNS * KEYS.length} x ${(batchesPerRun * STEPS_PER_BATCH).toLocaleString("en")} | ${args.points.toLocaleString("en")} | ${fmt(oldBytes)} | ${(oldBytes / args.points).toFixed(1)} | |`,
      `| chunks after the API phase (batches of 250 steps, each chunk rewritten as it fills; after VACUUM) | ${RUNS * KEYS.length} x ${(batchesPerRun * STEPS_PER_BATCH).toLocaleString("en")} | ${args.points.toLocaleString("en")} | ${fmt(afterApi)} | ${(afterApi / args.points).toFixed(1)} | |`,
      ...footprints.map(
        (footprint) =>
          `| chunks, ${footprint.shape} series (ingestPoints, 1,024 steps a call) | ${footprint.series.toLocaleString("en")} x ${footprint.steps.toLocaleString("en")} | ${footprint.points.toLocaleString("en")} | ${fmt(footprint.bytes)} | ${footprint.bytesPerPoint.toFixed(1)} | ${footprint.bytesPerPoint <= 24 ? "met" : "missed"} (<= 24) |`,
      ),
    ];
    console.log(`\n${lines.join("\n")}\n`);
    writeResult(args.out, {
      date: new Date().toISOString(),
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, postgres },
      loadAtStart,
      loadAtEnd,
      sizes: {
        points: args.points,
        fullPoints: FULL_POINTS,
        scaled: args.points < FULL_POINTS,
        runs: RUNS,
        keys: KEYS.length,
        batchPoints: BATCH_POINTS,
        clients: CLIENTS,
        summaryRows: oneStream.summaryRows,
        reps: args.reps,
      },
      server: "in-process node:http server calling handleV1 (test/helpers/v1-server.ts)",
      copy: {
        oneConnection: { ...copyOne, pointsPerSecond: rate(copyOne) },
        manyConnections: { ...copyMany, connections: CLIENTS, pointsPerSecond: rate(copyMany) },
        bestPointsPerSecond: copyBest,
      },
      api: { ...api, pointsPerSecond: rate(api) },
      ratio,
      cpuRatio,
      goal: { ratioAtLeast: 1, met: ratio >= 1 },
      footprints,
      bytesPerPoint: { oldLayout: oldBytes / args.points, afterApi: afterApi / args.points },
      reps,
      markdown: lines.join("\n"),
    });
  } finally {
    await server?.close();
    await db?.$disconnect();
    await client.end().catch(() => undefined);
    await database.drop({ keep: args.keep });
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.clientPlan) console.log(JSON.stringify(await runClients(JSON.parse(args.clientPlan) as ClientPlan)));
else await main(args);
