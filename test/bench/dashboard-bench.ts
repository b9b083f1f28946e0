/**
 * Dashboard bench, three measurements in one run on a fresh database:
 *
 *   (a) compare query (metrics.series' domain function) for 100 of 1,000 runs x 100,000 points, at
 *       full range and at a 1% window, against a bare SQL scan of the same rows (SELECT step, value
 *       FROM "MetricPoint" WHERE "seriesId" = ANY(...) AND step BETWEEN ...) read by `pg` in array
 *       mode. Goal: <= 2x the scan and < 1 s.
 *   (b) runs table first page (100 rows) in an experiment of 10,000 runs against one of 100 runs,
 *       for a few sorts and filters, without and with the index Run (experimentId, createdAt, id)
 *       (the migration creates it; "without" drops it for a moment; metric and parameter sorts use
 *       MetricSeries' and RunParam's indexes either way). Goal: <= 1.5x.
 *   (c) the compare page for 100 runs x 1,000 points in Chromium: the built app (started as
 *       `npm start` starts it, on this database, sign-in off) against a bare page that fetches the
 *       same points as JSON over HTTP (a static file, as fast as a server can answer) and draws them
 *       with Chart.js's UMD build. Time to interactive = from navigation start to the first animation
 *       frame after all 100 lines are drawn (the canvases' drawn markers, read in a requestAnimationFrame
 *       poll: the main thread is free again, the page responds), warm browser cache, median of the
 *       reps. Goal: <= 1.5x.
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
 * Creates (and drops) its own database on TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 * (c) needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium) and a production build in
 * SCALEBOARD_NEXT_DIST_DIR (default .next); the app builds one first when there is none (minutes).
 * Points are generated server-side (generate_series) into a MetricPoint without its keys, which are
 * added afterwards, then summaries are built with rebuildSummaries; the table's runs are inserted the same way.
 * Prints a Markdown table and writes test/bench/results-dashboard.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "@playwright/test";
import pg from "pg";
import { migrateDatabase } from "../../server/database/migrate.ts";
import { createDb, type Db } from "../../server/db.ts";
import { querySeries } from "../../server/domain/metrics/query-series.ts";
import { rebuildSummaries } from "../../server/domain/metrics/write-summaries.ts";
import { listRunsTable, type RunsTableInput } from "../../server/domain/run/runs-table.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FULL_POINTS = 100_000;
const RUNS = 1000;
const COMPARED = 100;

const PAGE_RUNS = 100;
const PAGE_POINTS = 1000;
const RUN_INDEX_SQL = `CREATE INDEX IF NOT EXISTS "Run_experimentId_createdAt_id_idx" ON "Run"("experimentId", "createdAt", "id")`;

function parseArgs(argv: string[]) {
  const quick = argv.includes("--quick");
  const args = { quick, scale: quick ? 0.1 : 1, background: quick ? 0.02 : 0.02, reps: quick ? 3 : 5, out: path.join(ROOT, "test/bench/results-dashboard.json"), keep: false, onlyPage: false, onlyTable: false };
  const usage = "npx tsx test/bench/dashboard-bench.ts [--quick] [--scale 1] [--background 0.02] [--reps 5] [--out FILE] [--keep] [--only page|table]";
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === "--keep" || arg === "--quick") {
      if (arg === "--keep") args.keep = true;
      continue;
    }
    const next = argv[++index];
    if (next === undefined) throw new Error(`${arg} needs a value (${usage})`);
    if (arg === "--scale") args.scale = Number(next);
    else if (arg === "--background") args.background = Number(next);
    else if (arg === "--reps") args.reps = Number(next);
    else if (arg === "--out") args.out = path.resolve(next);
    else if (arg === "--only" && next === "page") args.onlyPage = true;
    else if (arg === "--only" && next === "table") args.onlyTable = true;
    else throw new Error(`unknown argument ${arg} (${usage})`);
  }
  if (!(args.scale > 0 && args.scale <= 1)) throw new Error("--scale: a number in (0, 1]");
  if (!(args.background > 0 && args.background <= 1)) throw new Error("--background: a number in (0, 1]");
  if (!Number.isInteger(args.reps) || args.reps < 1) throw new Error("--reps: a whole number of at least 1");
  return args;
}

const args = parseArgs(process.argv.slice(2));
const adminUrl = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const comparedPoints = Math.max(100, Math.round(FULL_POINTS * args.scale));
const backgroundPoints = Math.max(10, Math.round(comparedPoints * args.background));

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function log(message: string) {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: Awaited<T> }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/** Median of `reps` timings after one untimed warm-up (none with warmUp false: a scan too slow to repeat). */
async function measure<T>(reps: number, work: () => Promise<T>, warmUp = true): Promise<{ ms: number; all: number[]; value: T }> {
  let value = (warmUp ? await work() : undefined) as T;
  const all: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const run = await timed(work);
    all.push(run.ms);
    value = run.value;
  }
  const sorted = [...all].sort((a, b) => a - b);
  return { ms: sorted[Math.floor(sorted.length / 2)]!, all, value };
}

async function seed(client: pg.Client, db: Db) {
  await client.query("SET maintenance_work_mem = '512MB'");
  const [team] = (await client.query<{ id: string }>(`INSERT INTO "Team" (id, name, slug, "updatedAt") VALUES ('bench-team', 'Bench', 'bench', now()) RETURNING id`)).rows;
  await client.query(`INSERT INTO "Project" (id, "teamId", name, slug, "updatedAt") VALUES ('bench-project', $1, 'Bench', 'bench', now())`, [team!.id]);
  const experiments = { compare: "bench-compare", table10k: "bench-table-10k", table100: "bench-table-100", page: "bench-page" };
  for (const [name, id] of Object.entries(experiments)) {
    await client.query(`INSERT INTO "Experiment" (id, "projectId", name, "updatedAt") VALUES ($1, 'bench-project', $2, now())`, [id, name]);
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
  await client.query(`UPDATE "Run" SET status = 'succeeded', "paramCount" = 1000 + (hashtext(id) & 65535), "totalFlops" = 1e12 + (hashtext(id) & 65535) * 1e9 WHERE "experimentId" = $1`, [experiments.page]);
  for (const id of Object.values(experiments)) await seriesFor(id, id === experiments.compare ? "train/loss" : "val/loss");
  // Sign-in off: the app's local admin, a member of the bench team only, so the pages show it.
  await client.query(`INSERT INTO "user" (id, name, email, "emailVerified", "updatedAt") VALUES ('local-admin', 'Local admin', 'local-admin@scaleboard.local', true, now())`);
  await client.query(`INSERT INTO "Membership" (id, "teamId", "userId", role, "updatedAt") VALUES ('bench-membership', $1, 'local-admin', 'admin', now())`, [team!.id]);

  const series = (await client.query<{ id: string }>(`SELECT s.id FROM "MetricSeries" s JOIN "Run" r ON r.id = s."runId" WHERE r."experimentId" = $1 ORDER BY r.name`, [experiments.compare])).rows.map(
    (row) => row.id,
  );
  const compared = series.slice(0, COMPARED);
  const background = series.slice(COMPARED);
  const pageSeries = (await client.query<{ id: string }>(`SELECT s.id FROM "MetricSeries" s JOIN "Run" r ON r.id = s."runId" WHERE r."experimentId" = $1`, [experiments.page])).rows.map((row) => row.id);

  const seedStart = performance.now();
  await client.query(`ALTER TABLE "MetricPoint" DROP CONSTRAINT "MetricPoint_seriesId_fkey", DROP CONSTRAINT "MetricPoint_pkey"`);
  // A decaying loss with noise and a 3.0 spike every 9,973 steps (offset per run): the spikes are what a downsample must not lose.
  const insertPoints = (ids: string[], count: number) =>
    client.query(
      `INSERT INTO "MetricPoint" ("seriesId", step, value, "wallTime")
       SELECT s.id, st, (2.0::float8 / (1.0::float8 + st / 1000.0::float8)) * (1.0::float8 + 0.02::float8 * sin(st * 0.37::float8 + (hashtext(s.id) & 1023)))
                        + CASE WHEN (st + (hashtext(s.id) & 8191)) % 9973 = 0 THEN 3.0::float8 ELSE 0.0::float8 END,
              1.7e9::float8 + st * 0.05::float8
       FROM unnest($1::text[]) AS s(id) CROSS JOIN LATERAL generate_series(0, $2::int - 1) AS st`,
      [ids, count],
    );
  for (let start = 0; start < compared.length; start += 10) {
    await insertPoints(compared.slice(start, start + 10), comparedPoints);
    log(`points: compared runs ${start + 10}/${compared.length} (${comparedPoints.toLocaleString("en")} each)`);
  }
  for (let start = 0; start < background.length; start += 100) {
    await insertPoints(background.slice(start, start + 100), backgroundPoints);
    log(`points: other runs ${Math.min(background.length, start + 100)}/${background.length} (${backgroundPoints.toLocaleString("en")} each)`);
  }
  await insertPoints(pageSeries, PAGE_POINTS);
  log(`points: page runs ${pageSeries.length} (${PAGE_POINTS.toLocaleString("en")} each)`);
  const inserted = performance.now();
  log("adding MetricPoint's primary key and foreign key");
  await client.query(`ALTER TABLE "MetricPoint" ADD CONSTRAINT "MetricPoint_pkey" PRIMARY KEY ("seriesId", step)`);
  await client.query(
    // NOT VALID: the seeded rows reference existing series by construction; new rows are checked as usual.
    `ALTER TABLE "MetricPoint" ADD CONSTRAINT "MetricPoint_seriesId_fkey" FOREIGN KEY ("seriesId") REFERENCES "MetricSeries"("id") ON DELETE CASCADE ON UPDATE CASCADE NOT VALID`,
  );
  await client.query(
    `UPDATE "MetricSeries" s SET "pointCount" = n.count, "firstStep" = 0, "lastStep" = n.count - 1,
       "lastValue" = (SELECT p.value FROM "MetricPoint" p WHERE p."seriesId" = s.id AND p.step = n.count - 1)
     FROM (SELECT unnest($1::text[]) AS id, $2::int AS count UNION ALL SELECT unnest($3::text[]), $4::int UNION ALL SELECT unnest($5::text[]), $6::int) n WHERE s.id = n.id`,
    [compared, comparedPoints, background, backgroundPoints, pageSeries, PAGE_POINTS],
  );
  const keyed = performance.now();

  log("building summaries (rebuildSummaries, two at a time)");
  const queue = [...compared.map((id) => [id]), ...chunk(background, 10), ...chunk(pageSeries, 10)];
  let done = 0;
  await Promise.all(
    [0, 1].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        await rebuildSummaries(db, next);
        done += next.length;
        if (done % 100 === 0) log(`summaries: ${done}/${series.length + pageSeries.length} series`);
      }
    }),
  );
  const summarized = performance.now();
  log("VACUUM ANALYZE");
  await client.query(`VACUUM ANALYZE "MetricPoint", "MetricSummary", "MetricSeries", "Run"`);
  const vacuumed = performance.now();
  const totalPoints = compared.length * comparedPoints + background.length * backgroundPoints + pageSeries.length * PAGE_POINTS;
  const seconds = (from: number, to: number) => Math.round((to - from) / 100) / 10;
  const pageRunIds = (await client.query<{ id: string }>(`SELECT id FROM "Run" WHERE "experimentId" = $1 ORDER BY name`, [experiments.page])).rows.map((row) => row.id);
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

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

/** The bare scan: the same rows, read by `pg` as arrays, ten series per statement so memory stays bounded. */
async function bareScan(client: pg.Client, seriesIds: string[], lo: number, hi: number): Promise<number> {
  let rows = 0;
  for (const ids of chunk(seriesIds, 10)) {
    const result = await client.query({ text: `SELECT step, value FROM "MetricPoint" WHERE "seriesId" = ANY($1) AND step BETWEEN $2 AND $3`, values: [ids, lo, hi], rowMode: "array" });
    rows += result.rowCount ?? 0;
  }
  return rows;
}

function chromiumPath(): string {
  const candidates = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // the next one
    }
  }
  throw new Error(`(c) needs Chromium: none at ${candidates.join(", ")} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
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
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: "127.0.0.1", SCALEBOARD_AUTH: "off", SCALEBOARD_WORKERS: "0", SCALEBOARD_DATA_DIR: dataDir, NEXT_TELEMETRY_DISABLED: "1" },
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
    const healthy = await fetch(`${baseUrl}/api/health`).then((response) => response.ok, () => false);
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
      request.url === "/" ? ["text/html", BARE_PAGE] : request.url === "/chart.umd.min.js" ? ["text/javascript", chartJs] : request.url === "/points.json" ? ["application/json", pointsJson] : [null, null];
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
  const points = await client.query<{ name: string; steps: number[]; values: number[] }>(
    `SELECT r.name, array_agg(p.step ORDER BY p.step) AS steps, array_agg(p.value ORDER BY p.step) AS values
     FROM "Run" r JOIN "MetricSeries" s ON s."runId" = r.id AND s.key = 'val/loss' JOIN "MetricPoint" p ON p."seriesId" = s.id
     WHERE r.id = ANY($1) GROUP BY r.name ORDER BY r.name`,
    [runIds],
  );
  const pointsJson = JSON.stringify(points.rows.map((row) => ({ name: row.name, points: row.steps.map((step, index) => ({ x: step, y: row.values[index] })) })));
  log(`(c) starting the app (it builds first when there is no production build) and the bare page`);
  const app = await startApp(databaseUrl);
  const bare = await startBarePage(pointsJson);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    });
    const viewport = { width: 1280, height: 800 };
    const appContext = await browser.newContext({ viewport, colorScheme: "light" });
    const bareContext = await browser.newContext({ viewport, colorScheme: "light" });
    const compareUrl = `${app.baseUrl}/compare?runs=${runIds.join(",")}`;
    let lastAppTimeline = "";
    const loadApp = async () => {
      const page = await appContext.newPage();
      await page.goto(compareUrl, { waitUntil: "commit" });
      const handle = await page.waitForFunction(
        (expected) => {
          const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="curves-panel"] canvas');
          return canvas && Number(canvas.dataset.series) >= expected ? performance.now() : false;
        },
        runIds.length,
        { polling: "raf", timeout: 120_000 },
      );
      const ms = (await handle.jsonValue()) as number;
      // The rest of the page (the scaling fit's bootstrap keeps a server core busy for a while)
      // finishes before the next load, so each load starts on an idle server.
      await page.locator('[data-testid="scaling-fit"], [data-testid="scaling-fit-missing"], [data-testid="scaling-empty"]').first().waitFor({ timeout: 120_000 });
      // Where the time went: DOMContentLoaded and each API request (start-end, ms after navigation start).
      lastAppTimeline = await page.evaluate(() => {
        const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
        const requests = performance
          .getEntriesByType("resource")
          .filter((entry) => entry.name.includes("/api/"))
          .map((entry) => `${decodeURIComponent(new URL(entry.name).pathname.replace("/api/trpc/", ""))} ${entry.startTime.toFixed(0)}-${(entry as PerformanceResourceTiming).responseEnd.toFixed(0)}`);
        // Anything else the page asked its server for (route prefetches) competes with the curves.
        const others = performance.getEntriesByType("resource").filter((entry) => !entry.name.includes("/api/") && !entry.name.includes("/_next/static/")).length;
        requests.push(`other requests ${others}`);
        return [`DOMContentLoaded ${navigation?.domContentLoadedEventEnd.toFixed(0)}`, ...requests].join("; ");
      });
      await page.close();
      return ms;
    };
    const loadBare = async () => {
      const page = await bareContext.newPage();
      await page.goto(bare.url, { waitUntil: "commit" });
      const handle = await page.waitForFunction(() => ((window as unknown as { drawnAt?: number }).drawnAt ? performance.now() : false), undefined, { polling: "raf", timeout: 120_000 });
      const ms = (await handle.jsonValue()) as number;
      await page.close();
      return ms;
    };
    await loadApp();
    await loadBare();
    const appMs: number[] = [];
    const bareMs: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      appMs.push(await loadApp());
      bareMs.push(await loadBare());
      log(`(c) rep ${rep + 1}/${reps}: app ${appMs.at(-1)!.toFixed(0)} ms, bare ${bareMs.at(-1)!.toFixed(0)} ms`);
    }
    log(`(c) the app's last load: ${lastAppTimeline}`);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    return { appMs: median(appMs), bareMs: median(bareMs), appAll: appMs, bareAll: bareMs, appTimeline: lastAppTimeline, points: points.rows.reduce((sum, row) => sum + row.steps.length, 0) };
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
    { label: "finalMetric asc + status filter", input: { sort: { column: "finalMetric", direction: "asc" }, filter: { status: ["succeeded", "failed"] } } },
    { label: "status filter + search, 30-row page", input: { filter: { status: ["succeeded", "failed"], search: "-0" }, limit: 30 } },
    { label: "finalMetric asc + status filter, 30-row page", input: { sort: { column: "finalMetric", direction: "asc" }, filter: { status: ["succeeded", "failed"] }, limit: 30 } },
  ];
  // A page takes a few milliseconds: many reps, so the median is not one scheduler hiccup.
  const reps = Math.max(20, args.reps * 4);
  const tableRows: { index: string; sort: string; ms10k: number; ms100: number; rows10k: number; rows100: number }[] = [];
  for (const index of ["without", "with"] as const) {
    await client.query(index === "with" ? RUN_INDEX_SQL : `DROP INDEX IF EXISTS "Run_experimentId_createdAt_id_idx"`);
    await client.query(`ANALYZE "Run", "RunParam", "MetricSeries"`);
    for (const sort of sorts) {
      const big = await measure(reps, () => listRunsTable(db, { experimentIds: [experiments.table10k], limit: 100, ...sort.input }));
      const small = await measure(reps, () => listRunsTable(db, { experimentIds: [experiments.table100], limit: 100, ...sort.input }));
      tableRows.push({ index, sort: sort.label, ms10k: big.ms, ms100: small.ms, rows10k: big.value.rows.length, rows100: small.value.rows.length });
    }
  }
  return { reps, tableRows };
}

/** (b)'s Markdown table. */
function runsTableTable(tableRows: { index: string; sort: string; ms10k: number; ms100: number; rows10k: number; rows100: number }[]): string[] {
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
function pageTable(page: { appMs: number; bareMs: number; points: number }): string[] {
  const ratio = page.appMs / page.bareMs;
  return [
    "| compare page in Chromium (time to interactive: every line drawn, next frame) | app ms | bare Chart.js page ms | ratio | goal (<= 1.5x) |",
    "|---|---|---|---|---|",
    `| ${PAGE_RUNS} runs x ${PAGE_POINTS.toLocaleString("en")} points (${page.points.toLocaleString("en")}), warm cache | ${page.appMs.toFixed(0)} | ${page.bareMs.toFixed(0)} | ${ratio.toFixed(2)}x | ${ratio <= 1.5 ? "met" : "missed"} |`,
  ];
}

async function main() {
  const name = `sb_bench_dash_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(adminUrl, name);
  let db: Db | null = null;
  const client = new pg.Client({ connectionString: url });
  try {
    log(`database ${name}; migrating`);
    await migrateDatabase(url);
    await client.connect();
    const serverVersion = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
    db = createDb(url);
    const seeded = await seed(client, db);
    log(`seeded ${seeded.totalPoints.toLocaleString("en")} points: ${JSON.stringify(seeded.seeding)}`);

    if (args.onlyPage) {
      log("(c) measuring the compare page in Chromium (--only page)");
      const page = await measurePages(client, url, seeded.pageRunIds, args.reps);
      const lines = [`Dashboard bench (c) only: ${os.cpus().length} cores, Node ${process.version}, PostgreSQL ${serverVersion}; medians of ${args.reps} reps.`, "", ...pageTable(page)];
      console.log(`\n${lines.join("\n")}\n`);
      writeFileSync(args.out, `${JSON.stringify({ date: new Date().toISOString(), only: "page", page: { ...page, ratio: page.appMs / page.bareMs }, markdown: lines.join("\n") }, null, 2)}\n`);
      log(`wrote ${path.relative(ROOT, args.out)}`);
      return;
    }
    const { compared, experiments } = seeded;
    if (args.onlyTable) {
      const { reps, tableRows } = await measureRunsTable(client, db, experiments);
      const lines = [`Dashboard bench (b) only: ${os.cpus().length} cores, Node ${process.version}, PostgreSQL ${serverVersion}; medians of ${reps} reps after a warm-up.`, "", ...runsTableTable(tableRows)];
      console.log(`\n${lines.join("\n")}\n`);
      writeFileSync(args.out, `${JSON.stringify({ date: new Date().toISOString(), only: "table", table: tableRows.map((row) => ({ ...row, ratio: row.ms10k / row.ms100 })), markdown: lines.join("\n") }, null, 2)}\n`);
      log(`wrote ${path.relative(ROOT, args.out)}`);
      return;
    }
    const windowLo = Math.floor(comparedPoints * 0.495);
    const windowHi = windowLo + Math.round(comparedPoints * 0.01) - 1;
    const spikesIn = async (lo: number, hi: number) =>
      Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "MetricPoint" WHERE "seriesId" = ANY($1) AND step BETWEEN $2 AND $3 AND value > 2.5`, [compared, lo, hi])).rows[0]!.n);

    log("measuring the compare query");
    const runIds = (await client.query<{ runId: string }>(`SELECT "runId" FROM "MetricSeries" WHERE id = ANY($1)`, [compared])).rows.map((row) => row.runId);
    const full = await measure(args.reps, () => querySeries(db!, { runIds, key: "train/loss", points: 1000 }));
    // Reading every row takes over a minute at full size: one rep, no warm-up.
    const fullScan = await measure(1, () => bareScan(client, compared, 0, comparedPoints - 1), false);
    const window = await measure(args.reps, () => querySeries(db!, { runIds, key: "train/loss", xMin: windowLo, xMax: windowHi, points: 1000 }));
    const windowScan = await measure(args.reps, () => bareScan(client, compared, windowLo, windowHi));
    const outputPoints = (result: Awaited<ReturnType<typeof querySeries>>) => result.series.reduce((sum, series) => sum + series.points.length, 0);
    const spikesShown = (result: Awaited<ReturnType<typeof querySeries>>) => result.series.reduce((sum, series) => sum + series.points.filter((point) => point.y !== null && point.y > 2.5).length, 0);
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

    const { tableRows } = await measureRunsTable(client, db, experiments);

    log("(c) measuring the compare page in Chromium");
    const pageResult = await measurePages(client, url, seeded.pageRunIds, args.reps);
    const pageRatio = pageResult.appMs / pageResult.bareMs;

    const scaled = [
      comparedPoints < FULL_POINTS ? `compared runs' points ${comparedPoints.toLocaleString("en")} instead of ${FULL_POINTS.toLocaleString("en")}` : null,
      backgroundPoints < FULL_POINTS ? `other runs' points ${backgroundPoints.toLocaleString("en")} instead of ${FULL_POINTS.toLocaleString("en")}` : null,
    ].filter(Boolean);
    const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
    const lines = [
      `Dashboard bench: PostgreSQL ${serverVersion}, ${os.cpus().length} cores, Node ${process.version}; ${seeded.totalPoints.toLocaleString("en")} points in ${RUNS} runs`,
      `(${COMPARED} compared runs x ${comparedPoints.toLocaleString("en")} points${comparedPoints < FULL_POINTS ? `, scaled from ${FULL_POINTS.toLocaleString("en")} by --scale ${args.scale}` : ""}; ${RUNS - COMPARED} other runs x ${backgroundPoints.toLocaleString("en")} points${backgroundPoints < FULL_POINTS ? `, scaled from ${FULL_POINTS.toLocaleString("en")}` : ""}).`,
      `Seeding: insert ${seeded.seeding.insertSeconds} s, keys ${seeded.seeding.keysSeconds} s, summaries ${seeded.seeding.summariesSeconds} s, vacuum ${seeded.seeding.vacuumSeconds} s. Medians of ${args.reps} timed reps after a warm-up (bare full-range scan: 1 rep).`,
      `${args.quick ? "--quick" : "Full run"}: scaled sizes: ${scaled.length ? scaled.join("; ") : "none"}. Unscaled: ${RUNS} runs, ${COMPARED} compared, runs table 10,000 vs 100 runs, page ${PAGE_RUNS} runs x ${PAGE_POINTS.toLocaleString("en")} points.`,
      "",
      "| compare query (metrics.series, 1000 points/run) | query ms | bare scan ms | ratio | goal | rows scanned | points returned | runs downsampled | spikes shown/present |",
      "|---|---|---|---|---|---|---|---|---|",
      ...compareRows.map((row) => {
        const ratio = row.queryMs / row.scanMs;
        const goal = ratio <= 2 && row.queryMs < 1000 ? "met" : "missed";
        return `| ${row.case} | ${ms(row.queryMs)} | ${ms(row.scanMs)} | ${ratio.toFixed(2)}x | ${goal} (<= 2x, < 1 s) | ${row.rowsScanned.toLocaleString("en")} | ${row.pointsReturned.toLocaleString("en")} | ${row.downsampled} | ${row.spikes} |`;
      }),
      "",
      ...runsTableTable(tableRows),
      "",
      ...pageTable(pageResult),
    ];
    console.log(`\n${lines.join("\n")}\n`);
    writeFileSync(
      args.out,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, postgres: serverVersion },
          quick: args.quick,
          scaled,
          sizes: { runs: RUNS, comparedRuns: COMPARED, comparedPoints, backgroundPoints, totalPoints: seeded.totalPoints, tableRuns: [10_000, 100], pageRuns: PAGE_RUNS, pagePoints: PAGE_POINTS, scale: args.scale, background: args.background },
          seeding: seeded.seeding,
          compare: compareRows.map((row) => ({ ...row, ratio: row.queryMs / row.scanMs })),
          table: tableRows.map((row) => ({ ...row, ratio: row.ms10k / row.ms100 })),
          page: { ...pageResult, ratio: pageRatio },
          markdown: lines.join("\n"),
        },
        null,
        2,
      )}\n`,
    );
    log(`wrote ${path.relative(ROOT, args.out)}`);
  } finally {
    await db?.$disconnect();
    await client.end().catch(() => undefined);
    if (args.keep) log(`kept database ${name}`);
    else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
