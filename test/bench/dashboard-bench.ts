/**
 * Dashboard bench, three measurements in one run on a fresh database:
 *
 *   (a) compare query (metrics.series' domain function) for 100 of 1,000 runs x 100,000 points, at
 *       full range and at a 1% window, against a bare SQL scan of the same chunks (their stored
 *       steps and values: SELECT count, "stepOffsets", "pointValues" FROM "MetricChunk" ...) read by
 *       `pg` in array mode. Goal: full range <= 100 ms; the 1% window no slower than the scan.
 *   (b) runs table first page (100 rows) in an experiment of 10,000 runs against one of 100 runs,
 *       for a few sorts and filters, without and with the index Run (experimentId, createdAt, id)
 *       (the migration creates it; "without" drops it for a moment; metric and parameter sorts use
 *       MetricSeries' and RunParam's indexes either way). Goal: <= 1.5x.
 *   (c) the compare page for 100 runs x 1,000 points in Chromium: the built app (started as
 *       `npm start` starts it, on this database, sign-in off) against a bare page that fetches the
 *       same points as JSON over HTTP (a static file, as fast as a server can answer) and draws them
 *       with Chart.js's UMD build. Time to first full draw = from navigation start to the first
 *       animation frame after all 100 lines are drawn, on either page (the drawn markers, read in a
 *       requestAnimationFrame poll); on the app that is its early chart (app/_features/charts/
 *       early-curves/: the lines on screen before the page hydrates) or the live chart, whichever is
 *       first. Warm browser cache, median of the reps. Goal: <= 1.5x. The live chart (tooltips, zoom,
 *       legend toggles) is timed too and printed beside it.
 *
 * Run: npm run bench:dashboard [-- --quick] [--scale 1] [--background 0.02] [--reps 5] [--out FILE] [--keep] [--only page|table]
 *   --quick       about 2-3 minutes: compared runs x 10,000 points (scale 0.1), other runs x 200
 *                 points, 3 reps; the runs table and the page keep their full sizes. The output says
 *                 which sizes were scaled.
 *   --scale       multiplies every run's points (1 = 100,000 points per compared run)
 *   --background  the 900 other runs' points as a fraction of a compared run's (default 0.02:
 *                 1e8 points take over half an hour to seed and summarize on 2 cores; the
 *                 compared 100 runs stay full size, which is what (a) measures)
 *   --keep        leave the database in place (its name is printed) to look at query plans
 *   --only page   seed and measure (c) alone (a minute instead of half an hour); the output file holds (c) only
 *   --only table  seed and measure (b) alone (with --quick, about a minute); the output file holds (b) only
 *   --only compare  seed and measure (a) alone
 * Creates (and drops) its own database on TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 * (c) needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium) and a production build in
 * SCALEBOARD_NEXT_DIST_DIR (default .next); the app builds one first when there is none (minutes).
 * Points are written by ingestPoints, a whole series a call (each chunk written once, with its
 * summaries); the runs and series rows are inserted in SQL.
 * Prints a Markdown table and writes test/bench/results-dashboard.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "@playwright/test";
import pg from "pg";
import { migrateDatabase } from "../../server/database/migrate.ts";
import { createDb, type Db } from "../../server/db.ts";
import { querySeries } from "../../server/domain/metrics/query-series.ts";
import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { listRunsTable, type RunsTableInput } from "../../server/domain/run/runs-table.ts";
import { createBenchDatabase, log, median, readArgs, ROOT, writeResult } from "./bench-harness.ts";

const FULL_POINTS = 100_000;
const RUNS = 1000;
const COMPARED = 100;

const PAGE_RUNS = 100;
const PAGE_POINTS = 1000;
const RUN_INDEX_SQL = `CREATE INDEX IF NOT EXISTS "Run_experimentId_createdAt_id_idx" ON "Run"("experimentId", "createdAt", "id")`;

function parseArgs(argv: string[]) {
  const usage =
    "npx tsx test/bench/dashboard-bench.ts [--quick] [--scale 1] [--background 0.02] [--reps 5] [--out FILE] [--keep] [--only page|table|compare]";
  const { switches, values } = readArgs(argv, {
    usage,
    switches: ["--quick", "--keep"],
    values: ["--scale", "--background", "--reps", "--out", "--only"],
  });
  const quick = switches.has("--quick");
  const only = values.get("--only");
  if (only !== undefined && only !== "page" && only !== "table" && only !== "compare")
    throw new Error(`--only: page, table or compare (${usage})`);
  const args = {
    quick,
    scale: Number(values.get("--scale") ?? (quick ? 0.1 : 1)),
    background: Number(values.get("--background") ?? 0.02),
    reps: Number(values.get("--reps") ?? (quick ? 3 : 5)),
    out: path.resolve(values.get("--out") ?? path.join(ROOT, "test/bench/results-dashboard.json")),
    keep: switches.has("--keep"),
    onlyPage: only === "page",
    onlyTable: only === "table",
    onlyCompare: only === "compare",
  };
  if (!(args.scale > 0 && args.scale <= 1)) throw new Error("--scale: a number in (0, 1]");
  if (!(args.background > 0 && args.background <= 1)) throw new Error("--background: a number in (0, 1]");
  if (!Number.isInteger(args.reps) || args.reps < 1) throw new Error("--reps: a whole number of at least 1");
  return args;
}

const args = parseArgs(process.argv.slice(2));
const comparedPoints = Math.max(100, Math.round(FULL_POINTS * args.scale));
const backgroundPoints = Math.max(10, Math.round(comparedPoints * args.background));

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: Awaited<T> }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** Median of `reps` timings after one untimed warm-up (none with warmUp false: a scan too slow to repeat). */
async function measure<T>(
  reps: number,
  work: () => Promise<T>,
  warmUp = true,
): Promise<{ ms: number; all: number[]; value: T }> {
  let value = (warmUp ? await work() : undefined) as T;
  const all: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const run = await timed(work);
    all.push(run.ms);
    value = run.value;
  }
  return { ms: median(all), all, value };
}

async function seed(client: pg.Client, db: Db) {
  await client.query("SET maintenance_work_mem = '512MB'");
  const [team] = (
    await client.query<{ id: string }>(
      `INSERT INTO "Team" (id, name, slug, "updatedAt") VALUES ('bench-team', 'Bench', 'bench', now()) RETURNING id`,
    )
  ).rows;
  await client.query(
    `INSERT INTO "Project" (id, "teamId", name, slug, "updatedAt") VALUES ('bench-project', $1, 'Bench', 'bench', now())`,
    [team!.id],
  );
  const experiments = {
    compare: "bench-compare",
    table10k: "bench-table-10k",
    table100: "bench-table-100",
    page: "bench-page",
  };
  for (const [name, id] of Object.entries(experiments)) {
    await client.query(
      `INSERT INTO "Experiment" (id, "projectId", name, "updatedAt") VALUES ($1, 'bench-project', $2, now())`,
      [id, name],
    );
  }

  const insertRuns = (experimentId: string, count: number) =>
    client.query(
      `INSERT INTO "Run" (id, "experimentId", name, "cellHash", config, status, "paramCount", "totalFlops", "wallClockSeconds", step, "createdAt", "updatedAt")
       SELECT 'r' || substr(md5($1 || i), 1, 24), $1, $1 || '-' || lpad(i::text, 5, '0'), 'cell-' || i,
              jsonb_build_object('params', jsonb_build_object('model.width', (ARRAY[32, 64, 128, 256, 512])[1 + i % 5], 'training.lr', 0.001 * (1 + i % 4),
                                 'optimizer', CASE WHEN i % 2 = 0 THEN 'adam' ELSE 'sgd' END), 'model', jsonb_build_object('family', 'mlp', 'depth', 2)),
              (ARRAY['succeeded', 'failed', 'running', 'queued', 'canceled', 'diverged'])[1 + i % 6]::"RunStatus",
              CASE WHEN i % 10 = 0 THEN NULL ELSE (1000 + i * 37) END, CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1.5e12 END, (i * 13) % 5000, 1000,
              now() - make_interval(secs => $2::int - i), now()
       FROM generate_series(1, $2::int) i`,
      [experimentId, count],
    );
  const seriesFor = (experimentId: string, key: string) =>
    client.query(
      `INSERT INTO "MetricSeries" (id, "runId", key, "updatedAt", "lastValue", "minValue", "maxValue")
       SELECT 's' || md5(r.id || '/' || $2), r.id, $2, now(), 0.5 + (hashtext(r.id) & 1023) / 1024.0, 0.4 + (hashtext(r.id) & 511) / 1024.0, 3
       FROM "Run" r WHERE r."experimentId" = $1`,
      [experimentId, key],
    );

  log(`seeding runs: ${RUNS} compared-experiment runs, 10,000 + 100 table runs`);
  if (!args.onlyPage) {
    await insertRuns(experiments.compare, RUNS);
    await insertRuns(experiments.table10k, 10_000);
    await insertRuns(experiments.table100, 100);
  }
  await insertRuns(experiments.page, PAGE_RUNS);
  // The page's runs are finished (no live polling while it loads) and sized, so its scaling panel fits too.
  await client.query(
    `UPDATE "Run" SET status = 'succeeded', "paramCount" = 1000 + (hashtext(id) & 65535), "totalFlops" = 1e12 + (hashtext(id) & 65535) * 1e9 WHERE "experimentId" = $1`,
    [experiments.page],
  );
  for (const id of Object.values(experiments))
    await seriesFor(id, id === experiments.compare ? "train/loss" : "val/loss");
  // Sign-in off: the app's local admin, a member of the bench team only, so the pages show it.
  await client.query(
    `INSERT INTO "user" (id, name, email, "emailVerified", "updatedAt") VALUES ('local-admin', 'Local admin', 'local-admin@scaleboard.local', true, now())`,
  );
  await client.query(
    `INSERT INTO "Membership" (id, "teamId", "userId", role, "updatedAt") VALUES ('bench-membership', $1, 'local-admin', 'admin', now())`,
    [team!.id],
  );

  const series = (
    await client.query<{ id: string }>(
      `SELECT s.id FROM "MetricSeries" s JOIN "Run" r ON r.id = s."runId" WHERE r."experimentId" = $1 ORDER BY r.name`,
      [experiments.compare],
    )
  ).rows.map((row) => row.id);
  const compared = series.slice(0, COMPARED);
  const background = series.slice(COMPARED);
  const pageSeries = (
    await client.query<{ id: string }>(
      `SELECT s.id FROM "MetricSeries" s JOIN "Run" r ON r.id = s."runId" WHERE r."experimentId" = $1`,
      [experiments.page],
    )
  ).rows.map((row) => row.id);

  const seedStart = performance.now();
  // Each series goes through ingestPoints whole (a chunk is written once), two series at a time.
  const runOf = new Map(
    (
      await client.query<{ id: string; runId: string }>(`SELECT id, "runId" FROM "MetricSeries" WHERE id = ANY($1)`, [
        [...compared, ...background, ...pageSeries],
      ])
    ).rows.map((row) => [row.id, row.runId]),
  );
  const queue = [
    ...compared.map((id) => ({ id, count: comparedPoints })),
    ...background.map((id) => ({ id, count: backgroundPoints })),
    ...pageSeries.map((id) => ({ id, count: PAGE_POINTS })),
  ];
  const keyOf = new Map(
    (await client.query<{ id: string; key: string }>(`SELECT id, key FROM "MetricSeries"`)).rows.map((row) => [
      row.id,
      row.key,
    ]),
  );
  let done = 0;
  await Promise.all(
    [0, 1].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const key = keyOf.get(next.id)!;
        const points = Array.from({ length: next.count }, (_, step) => ({
          key,
          step,
          value: seededValue(next.id, step),
          wallTime: 1.7e9 + step * 0.05,
        }));
        await ingestPoints(db, runOf.get(next.id)!, points);
        done++;
        if (done % 100 === 0) log(`points: ${done}/${runOf.size} series`);
      }
    }),
  );
  const inserted = performance.now();
  const keyed = inserted;
  const summarized = inserted;
  log("VACUUM ANALYZE");
  await client.query(`VACUUM ANALYZE "MetricChunk", "MetricSeries", "Run"`);
  const vacuumed = performance.now();
  const totalPoints =
    compared.length * comparedPoints + background.length * backgroundPoints + pageSeries.length * PAGE_POINTS;
  const seconds = (from: number, to: number) => Math.round((to - from) / 100) / 10;
  const pageRunIds = (
    await client.query<{ id: string }>(`SELECT id FROM "Run" WHERE "experimentId" = $1 ORDER BY name`, [
      experiments.page,
    ])
  ).rows.map((row) => row.id);
  return {
    experiments,
    compared,
    pageRunIds,
    totalPoints,
    seeding: {
      insertSeconds: seconds(seedStart, inserted),
      keysSeconds: seconds(inserted, keyed),
      summariesSeconds: seconds(keyed, summarized),
      vacuumSeconds: seconds(summarized, vacuumed),
    },
  };
}

/** A series' seed: 32 bits of its id (the runs' offsets of noise and spikes). */
function seedOf(seriesId: string): number {
  let hash = 2166136261;
  for (let index = 0; index < seriesId.length; index++) hash = Math.imul(hash ^ seriesId.charCodeAt(index), 16777619);
  return hash >>> 0;
}

/** A decaying loss with noise and a 3.0 spike every 9,973 steps (offset per run): the spikes are what a downsample must not lose. */
function seededValue(seriesId: string, step: number): number {
  const seed = seedOf(seriesId);
  const base = (2 / (1 + step / 1000)) * (1 + 0.02 * Math.sin(step * 0.37 + (seed & 1023)));
  return base + ((step + (seed & 8191)) % 9973 === 0 ? 3 : 0);
}

/** How many spikes series `ids` hold in [lo, hi]. */
function spikesBetween(ids: string[], lo: number, hi: number): number {
  let count = 0;
  for (const id of ids) for (let step = lo; step <= hi; step++) if (seededValue(id, step) > 2.5) count++;
  return count;
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

/**
 * The bare scan: the same chunks' points (steps and values, as stored), read by `pg` as arrays, ten
 * series per statement so memory stays bounded. Returns the points the chunks hold.
 */
async function bareScan(client: pg.Client, seriesIds: string[], lo: number, hi: number): Promise<number> {
  let points = 0;
  for (const ids of chunk(seriesIds, 10)) {
    const result = await client.query<[number, Buffer | null, Buffer]>({
      text: `SELECT c.count, c."stepOffsets", c."pointValues" FROM "MetricChunk" c JOIN "MetricSeries" s ON s.number = c."seriesNumber"
             WHERE s.id = ANY($1) AND c.chunk BETWEEN $2::int / 1024 AND $3::int / 1024`,
      values: [ids, lo, hi],
      rowMode: "array",
    });
    for (const row of result.rows) points += row[0];
  }
  return points;
}

function chromiumPath(): string {
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // the next one
    }
  }
  throw new Error(
    `(c) needs Chromium: none at ${candidates.join(", ")} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
  );
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  const url = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return Number(new URL(url).port);
}

/** The product as `npm start` runs it, on the bench database with sign-in off and no worker. */
async function startApp(databaseUrl: string): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-bench-"));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "server/cli/start.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      SCALEBOARD_AUTH: "off",
      SCALEBOARD_WORKERS: "0",
      SCALEBOARD_DATA_DIR: dataDir,
      NEXT_TELEMETRY_DISABLED: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
  child.stderr?.on("data", (chunk) => (output = (output + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  // Up to 10 minutes: without a production build, start.ts runs `next build` first.
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the app exited with code ${child.exitCode}:\n${output}`);
    const healthy = await fetch(`${baseUrl}/api/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return { baseUrl, stop };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stop();
  throw new Error(`the app did not answer within 10 minutes:\n${output}`);
}

const BARE_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Bare Chart.js</title><script src="/chart.umd.min.js"></script></head>
<body style="margin:0;font-family:sans-serif"><div style="position:relative;height:320px;width:600px;margin:24px"><canvas id="chart"></canvas></div>
<script>
fetch("/points.json").then((response) => response.json()).then((series) => {
  new Chart(document.getElementById("chart"), {
    type: "line",
    data: { datasets: series.map((run, index) => ({ label: run.name, data: run.points, borderColor: "hsl(" + ((index * 37) % 360) + " 70% 45%)", borderWidth: 1, pointRadius: 0 })) },
    options: { animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false, scales: { x: { type: "linear" }, y: { type: "linear" } }, plugins: { legend: { display: false } } },
    plugins: [{ id: "drawn", afterDraw() { if (!window.drawnAt) window.drawnAt = performance.now(); } }],
  });
});
</script></body></html>`;

/** The bare page: Chart.js's UMD build from node_modules and the same points, fetched as JSON. */
async function startBarePage(pointsJson: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const chartJs = readFileSync(path.join(ROOT, "node_modules/chart.js/dist/chart.umd.min.js"));
  const server = createServer((request, response) => {
    const [type, body] =
      request.url === "/"
        ? ["text/html", BARE_PAGE]
        : request.url === "/chart.umd.min.js"
          ? ["text/javascript", chartJs]
          : request.url === "/points.json"
            ? ["application/json", pointsJson]
            : [null, null];
    if (type === null) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": type, "cache-control": "max-age=3600" }).end(body);
  });
  const url = await listen(server);
  return { url: `${url}/`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * (c): time from navigation start to the first frame after every line is drawn, for the app's compare page and
 * the bare page, alternating, one untimed load of each first (the browser cache is then warm for both).
 */
async function measurePages(client: pg.Client, databaseUrl: string, runIds: string[], reps: number) {
  const runs = await client.query<{ id: string; name: string }>(
    `SELECT id, name FROM "Run" WHERE id = ANY($1) ORDER BY name`,
    [runIds],
  );
  const db = createDb(databaseUrl);
  const pointsJson = JSON.stringify(
    await Promise.all(
      runs.rows.map(async (row) => ({
        name: row.name,
        points: (await readLoggedPoints(db, { runId: row.id, key: "val/loss" })).map((point) => ({
          x: point.step,
          y: point.value,
        })),
      })),
    ),
  );
  await db.$disconnect();
  log(`(c) starting the app (it builds first when there is no production build) and the bare page`);
  const app = await startApp(databaseUrl);
  const bare = await startBarePage(pointsJson);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
    const viewport = { width: 1280, height: 800 };
    const appContext = await browser.newContext({ viewport, colorScheme: "light" });
    const bareContext = await browser.newContext({ viewport, colorScheme: "light" });
    // Both pages record their long tasks (the same small cost on each): the app's timeline lists them.
    const recordLongTasks = () => {
      const tasks: string[] = [];
      (window as unknown as { benchLongTasks: string[] }).benchLongTasks = tasks;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) tasks.push(`${entry.startTime.toFixed(0)}+${entry.duration.toFixed(0)}`);
      }).observe({ type: "longtask", buffered: true });
    };
    await appContext.addInitScript(recordLongTasks);
    await bareContext.addInitScript(recordLongTasks);
    const compareUrl = `${app.baseUrl}/compare?runs=${runIds.join(",")}`;
    let lastAppTimeline = "";
    const loadApp = async () => {
      const page = await appContext.newPage();
      await page.goto(compareUrl, { waitUntil: "commit" });
      // First full draw: the early chart (drawn before the page hydrates; its slot says data-early-series)
      // or the live one.
      const drawnBy = (live: boolean) =>
        page.waitForFunction(
          ({ expected, live }) => {
            const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="curves-panel"] canvas');
            const early = document.querySelector<HTMLElement>('[data-testid="curves-panel"] [data-early-series]');
            const drawn =
              Number(canvas?.dataset.series) >= expected || (!live && Number(early?.dataset.earlySeries) >= expected);
            return drawn ? performance.now() : false;
          },
          { expected: runIds.length, live },
          { polling: "raf", timeout: 120_000 },
        );
      const ms = (await (await drawnBy(false)).jsonValue()) as number;
      // The live chart (tooltips, zoom, legend toggles) drawn over it.
      const liveMs = (await (await drawnBy(true)).jsonValue()) as number;
      // The rest of the page (the scaling fit's bootstrap keeps a server core busy for a while)
      // finishes before the next load, so each load starts on an idle server.
      await page
        .locator('[data-testid="scaling-fit"], [data-testid="scaling-fit-missing"], [data-testid="scaling-empty"]')
        .first()
        .waitFor({ timeout: 120_000 });
      // Where the time went: DOMContentLoaded and each API request (start-end, ms after navigation start).
      lastAppTimeline = await page.evaluate(() => {
        const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
        const requests = performance
          .getEntriesByType("resource")
          .filter((entry) => entry.name.includes("/api/"))
          .map(
            (entry) =>
              `${decodeURIComponent(new URL(entry.name).pathname.replace("/api/trpc/", ""))} ${entry.startTime.toFixed(0)}-${(entry as PerformanceResourceTiming).responseEnd.toFixed(0)}`,
          );
        // Anything else the page asked its server for (route prefetches) competes with the curves.
        const others = performance
          .getEntriesByType("resource")
          .filter((entry) => !entry.name.includes("/api/") && !entry.name.includes("/_next/static/")).length;
        requests.push(`other requests ${others}`);
        // When the page's scripts had arrived, and the main thread's long tasks (start+duration, ms).
        const scripts = performance
          .getEntriesByType("resource")
          .filter((entry) => entry.name.includes("/_next/static/") && entry.name.endsWith(".js"));
        const late = scripts
          .filter((entry) => entry.startTime > (navigation?.domContentLoadedEventEnd ?? 0))
          .map(
            (entry) => `${entry.startTime.toFixed(0)}-${(entry as PerformanceResourceTiming).responseEnd.toFixed(0)}`,
          );
        requests.push(
          `scripts ${scripts.length}, last end ${Math.max(...scripts.map((entry) => (entry as PerformanceResourceTiming).responseEnd)).toFixed(0)}, after DOMContentLoaded ${late.join(" ")}`,
        );
        const longTasks = (window as unknown as { benchLongTasks?: string[] }).benchLongTasks ?? [];
        requests.push(`long tasks ${longTasks.join(" ")}`);
        return [`DOMContentLoaded ${navigation?.domContentLoadedEventEnd.toFixed(0)}`, ...requests].join("; ");
      });
      await page.close();
      return { ms, liveMs };
    };
    const loadBare = async () => {
      const page = await bareContext.newPage();
      await page.goto(bare.url, { waitUntil: "commit" });
      const handle = await page.waitForFunction(
        () => ((window as unknown as { drawnAt?: number }).drawnAt ? performance.now() : false),
        undefined,
        { polling: "raf", timeout: 120_000 },
      );
      const ms = (await handle.jsonValue()) as number;
      await page.close();
      return ms;
    };
    await loadApp();
    await loadBare();
    const appMs: number[] = [];
    const liveMs: number[] = [];
    const bareMs: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const app = await loadApp();
      appMs.push(app.ms);
      liveMs.push(app.liveMs);
      bareMs.push(await loadBare());
      log(
        `(c) rep ${rep + 1}/${reps}: app ${app.ms.toFixed(0)} ms (live chart ${app.liveMs.toFixed(0)} ms), bare ${bareMs.at(-1)!.toFixed(0)} ms`,
      );
    }
    log(`(c) the app's last load: ${lastAppTimeline}`);
    return {
      appMs: median(appMs),
      liveMs: median(liveMs),
      bareMs: median(bareMs),
      appAll: appMs,
      liveAll: liveMs,
      bareAll: bareMs,
      appTimeline: lastAppTimeline,
      points: (JSON.parse(pointsJson) as { points: unknown[] }[]).reduce((sum, row) => sum + row.points.length, 0),
    };
  } finally {
    await browser?.close();
    await bare.stop();
    await app.stop();
  }
}

/**
 * (b): the runs table's first page in the 10,000-run experiment against the 100-run one, without and
 * with the index Run (experimentId, createdAt, id). Metric and parameter sorts read MetricSeries
 * (experimentId, key, value, runId) and RunParam (experimentId, key, value, runId), which stay.
 */
async function measureRunsTable(client: pg.Client, db: Db, experiments: { table10k: string; table100: string }) {
  log("measuring the runs table");
  // A filter keeping a third of the runs leaves the 100-run page 33 rows against 100: the 30-row pages
  // compare the same output at both sizes.
  const sorts: { label: string; input: Partial<RunsTableInput> }[] = [
    { label: "createdAt desc (default)", input: {} },
    { label: "finalMetric asc (val/loss)", input: { sort: { column: "finalMetric", direction: "asc" } } },
    { label: "bestMetric desc (val/loss)", input: { sort: { column: "bestMetric", direction: "desc" } } },
    { label: "param model.width desc", input: { sort: { column: "param", param: "model.width", direction: "desc" } } },
    { label: "param optimizer asc (text)", input: { sort: { column: "param", param: "optimizer", direction: "asc" } } },
    { label: "status filter + search", input: { filter: { status: ["succeeded", "failed"], search: "-0" } } },
    {
      label: "finalMetric asc + status filter",
      input: { sort: { column: "finalMetric", direction: "asc" }, filter: { status: ["succeeded", "failed"] } },
    },
    {
      label: "status filter + search, 30-row page",
      input: { filter: { status: ["succeeded", "failed"], search: "-0" }, limit: 30 },
    },
    {
      label: "finalMetric asc + status filter, 30-row page",
      input: {
        sort: { column: "finalMetric", direction: "asc" },
        filter: { status: ["succeeded", "failed"] },
        limit: 30,
      },
    },
  ];
  // A page takes a few milliseconds: many reps, so the median is not one scheduler hiccup.
  const reps = Math.max(20, args.reps * 4);
  const tableRows: { index: string; sort: string; ms10k: number; ms100: number; rows10k: number; rows100: number }[] =
    [];
  for (const index of ["without", "with"] as const) {
    await client.query(index === "with" ? RUN_INDEX_SQL : `DROP INDEX IF EXISTS "Run_experimentId_createdAt_id_idx"`);
    await client.query(`ANALYZE "Run", "RunParam", "MetricSeries"`);
    for (const sort of sorts) {
      const big = await measure(reps, () =>
        listRunsTable(db, { experimentIds: [experiments.table10k], limit: 100, ...sort.input }),
      );
      const small = await measure(reps, () =>
        listRunsTable(db, { experimentIds: [experiments.table100], limit: 100, ...sort.input }),
      );
      tableRows.push({
        index,
        sort: sort.label,
        ms10k: big.ms,
        ms100: small.ms,
        rows10k: big.value.rows.length,
        rows100: small.value.rows.length,
      });
    }
  }
  return { reps, tableRows };
}

/** (b)'s Markdown table. */
function runsTableTable(
  tableRows: { index: string; sort: string; ms10k: number; ms100: number; rows10k: number; rows100: number }[],
): string[] {
  const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
  return [
    "| runs table first page (100 rows unless named) | Run (experimentId, createdAt, id) index | 10,000 runs ms | 100 runs ms | rows (10,000 / 100) | ratio | goal (<= 1.5x) |",
    "|---|---|---|---|---|---|---|",
    ...tableRows.map((row) => {
      const ratio = row.ms10k / row.ms100;
      return `| ${row.sort} | ${row.index} | ${ms(row.ms10k)} | ${ms(row.ms100)} | ${row.rows10k} / ${row.rows100} | ${ratio.toFixed(2)}x | ${ratio <= 1.5 ? "met" : "missed"} |`;
    }),
  ];
}

/** (c)'s Markdown table. */
function pageTable(page: { appMs: number; liveMs: number; bareMs: number; points: number }): string[] {
  const ratio = page.appMs / page.bareMs;
  return [
    "| compare page in Chromium (first full draw: every line drawn, next frame) | app ms | bare Chart.js page ms | ratio | goal (<= 1.5x) | app's live chart ms |",
    "|---|---|---|---|---|---|",
    `| ${PAGE_RUNS} runs x ${PAGE_POINTS.toLocaleString("en")} points (${page.points.toLocaleString("en")}), warm cache | ${page.appMs.toFixed(0)} | ${page.bareMs.toFixed(0)} | ${ratio.toFixed(2)}x | ${ratio <= 1.5 ? "met" : "missed"} | ${page.liveMs.toFixed(0)} |`,
  ];
}

async function main() {
  const database = await createBenchDatabase("sb_bench_dash");
  const { name, url } = database;
  let db: Db | null = null;
  const client = new pg.Client({ connectionString: url });
  try {
    log(`database ${name}; migrating`);
    await migrateDatabase(url);
    await client.connect();
    const serverVersion = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!
      .server_version;
    db = createDb(url);
    const seeded = await seed(client, db);
    log(`seeded ${seeded.totalPoints.toLocaleString("en")} points: ${JSON.stringify(seeded.seeding)}`);

    if (args.onlyPage) {
      log("(c) measuring the compare page in Chromium (--only page)");
      await client.query("CHECKPOINT");
      const page = await measurePages(client, url, seeded.pageRunIds, args.reps);
      const lines = [
        `Dashboard bench (c) only: ${os.cpus().length} cores, Node ${process.version}, PostgreSQL ${serverVersion}; medians of ${args.reps} reps.`,
        "",
        ...pageTable(page),
      ];
      console.log(`\n${lines.join("\n")}\n`);
      writeResult(args.out, {
        date: new Date().toISOString(),
        only: "page",
        page: { ...page, ratio: page.appMs / page.bareMs },
        markdown: lines.join("\n"),
      });
      return;
    }
    const { compared, experiments } = seeded;
    if (args.onlyTable) {
      const { reps, tableRows } = await measureRunsTable(client, db, experiments);
      const lines = [
        `Dashboard bench (b) only: ${os.cpus().length} cores, Node ${process.version}, PostgreSQL ${serverVersion}; medians of ${reps} reps after a warm-up.`,
        "",
        ...runsTableTable(tableRows),
      ];
      console.log(`\n${lines.join("\n")}\n`);
      writeResult(args.out, {
        date: new Date().toISOString(),
        only: "table",
        table: tableRows.map((row) => ({ ...row, ratio: row.ms10k / row.ms100 })),
        markdown: lines.join("\n"),
      });
      return;
    }
    const windowLo = Math.floor(comparedPoints * 0.495);
    const windowHi = windowLo + Math.round(comparedPoints * 0.01) - 1;
    const spikesIn = async (lo: number, hi: number) => spikesBetween(compared, lo, hi);

    log("measuring the compare query");
    const runIds = (
      await client.query<{ runId: string }>(`SELECT "runId" FROM "MetricSeries" WHERE id = ANY($1)`, [compared])
    ).rows.map((row) => row.runId);
    const full = await measure(args.reps, () => querySeries(db!, { runIds, key: "train/loss", points: 1000 }));
    const fullScan = await measure(args.reps, () => bareScan(client, compared, 0, comparedPoints - 1));
    const window = await measure(args.reps, () =>
      querySeries(db!, { runIds, key: "train/loss", xMin: windowLo, xMax: windowHi, points: 1000 }),
    );
    const windowScan = await measure(args.reps, () => bareScan(client, compared, windowLo, windowHi));
    const outputPoints = (result: Awaited<ReturnType<typeof querySeries>>) =>
      result.series.reduce((sum, series) => sum + series.points.length, 0);
    const spikesShown = (result: Awaited<ReturnType<typeof querySeries>>) =>
      result.series.reduce(
        (sum, series) => sum + series.points.filter((point) => typeof point.y === "number" && point.y > 2.5).length,
        0,
      );
    const compareRows = [
      {
        case: `100 runs, full range (${comparedPoints.toLocaleString("en")} steps)`,
        queryMs: full.ms,
        scanMs: fullScan.ms,
        rowsScanned: fullScan.value,
        pointsReturned: outputPoints(full.value),
        downsampled: full.value.series.filter((series) => series.downsampled).length,
        spikes: `${spikesShown(full.value)}/${await spikesIn(0, comparedPoints - 1)}`,
      },
      {
        case: `100 runs, 1% window (steps ${windowLo}-${windowHi})`,
        queryMs: window.ms,
        scanMs: windowScan.ms,
        rowsScanned: windowScan.value,
        pointsReturned: outputPoints(window.value),
        downsampled: window.value.series.filter((series) => series.downsampled).length,
        spikes: `${spikesShown(window.value)}/${await spikesIn(windowLo, windowHi)}`,
      },
    ];

    const { tableRows } = args.onlyCompare ? { tableRows: null } : await measureRunsTable(client, db, experiments);

    // The seeding's dirty pages written out first: the app's page reads PostgreSQL, the bare page does not,
    // so a checkpoint flushing millions of points during (c) would weigh on one side only.
    if (!args.onlyCompare) await client.query("CHECKPOINT");
    const pageResult = args.onlyCompare ? null : await measurePages(client, url, seeded.pageRunIds, args.reps);
    if (pageResult) log("(c) measured the compare page in Chromium");
    const pageRatio = pageResult ? pageResult.appMs / pageResult.bareMs : null;

    const scaled = [
      comparedPoints < FULL_POINTS
        ? `compared runs' points ${comparedPoints.toLocaleString("en")} instead of ${FULL_POINTS.toLocaleString("en")}`
        : null,
      backgroundPoints < FULL_POINTS
        ? `other runs' points ${backgroundPoints.toLocaleString("en")} instead of ${FULL_POINTS.toLocaleString("en")}`
        : null,
    ].filter(Boolean);
    const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
    const lines = [
      `Dashboard bench: PostgreSQL ${serverVersion}, ${os.cpus().length} cores, Node ${process.version}; ${seeded.totalPoints.toLocaleString("en")} points in ${RUNS} runs`,
      `(${COMPARED} compared runs x ${comparedPoints.toLocaleString("en")} points${comparedPoints < FULL_POINTS ? `, scaled from ${FULL_POINTS.toLocaleString("en")} by --scale ${args.scale}` : ""}; ${RUNS - COMPARED} other runs x ${backgroundPoints.toLocaleString("en")} points${backgroundPoints < FULL_POINTS ? `, scaled from ${FULL_POINTS.toLocaleString("en")}` : ""}).`,
      `Seeding (ingestPoints, a series a call, two at a time, summaries written with the chunks): ${seeded.seeding.insertSeconds} s, vacuum ${seeded.seeding.vacuumSeconds} s. Medians of ${args.reps} timed reps after a warm-up. The machine is shared with other work (load average ${os.loadavg()[0]!.toFixed(1)} at the end).`,
      `${args.quick ? "--quick" : "Full run"}: scaled sizes: ${scaled.length ? scaled.join("; ") : "none"}. Unscaled: ${RUNS} runs, ${COMPARED} compared, runs table 10,000 vs 100 runs, page ${PAGE_RUNS} runs x ${PAGE_POINTS.toLocaleString("en")} points.`,
      "",
      "| compare query (metrics.series, 1000 points/run) | query ms | bare scan of the chunks ms | ratio | goal | points in the chunks scanned | points returned | runs downsampled | spikes shown/present |",
      "|---|---|---|---|---|---|---|---|---|",
      ...compareRows.map((row) => {
        const ratio = row.queryMs / row.scanMs;
        const full = row.case.includes("full range");
        const goal = (full ? row.queryMs <= 100 : ratio <= 1) ? "met" : "missed";
        return `| ${row.case} | ${ms(row.queryMs)} | ${ms(row.scanMs)} | ${ratio.toFixed(2)}x | ${goal} (${full ? "<= 100 ms" : "no slower than the scan"}) | ${row.rowsScanned.toLocaleString("en")} | ${row.pointsReturned.toLocaleString("en")} | ${row.downsampled} | ${row.spikes} |`;
      }),
      ...(tableRows ? ["", ...runsTableTable(tableRows)] : []),
      ...(pageResult
        ? ["", ...pageTable(pageResult)]
        : ["", "(--only compare: the runs table (b) and the page (c) were not measured.)"]),
    ];
    console.log(`\n${lines.join("\n")}\n`);
    writeResult(args.out, {
      date: new Date().toISOString(),
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, postgres: serverVersion },
      quick: args.quick,
      scaled,
      sizes: {
        runs: RUNS,
        comparedRuns: COMPARED,
        comparedPoints,
        backgroundPoints,
        totalPoints: seeded.totalPoints,
        tableRuns: [10_000, 100],
        pageRuns: PAGE_RUNS,
        pagePoints: PAGE_POINTS,
        scale: args.scale,
        background: args.background,
      },
      seeding: seeded.seeding,
      compare: compareRows.map((row) => ({ ...row, ratio: row.queryMs / row.scanMs })),
      only: args.onlyCompare ? "compare" : undefined,
      table: tableRows?.map((row) => ({ ...row, ratio: row.ms10k / row.ms100 })) ?? null,
      page: pageResult ? { ...pageResult, ratio: pageRatio } : null,
      markdown: lines.join("\n"),
    });
  } finally {
    await db?.$disconnect();
    await client.end().catch(() => undefined);
    await database.drop({ keep: args.keep });
  }
}

await main();
