import { z } from "zod";
import type { Db } from "../../db.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import type { Actor } from "../access/actor.ts";
import { resolveProjectAccess } from "../access/resolve-team-access.ts";
import { AppError } from "../app-error.ts";
import type { ChartPoint } from "./downsample.ts";
import { SUMMARY_LEVELS, SUMMARY_WIDTHS, TOP_SUMMARY_LEVEL, summariesAvailable } from "./write-summaries.ts";

/**
 * Curves for a comparison chart: one series per run, y = `key`, x = the step or any other key
 * logged at the same steps (wallclock, flops, samples, tokens, ...).
 *
 * Design, for 100 runs x 100,000 points answering in well under a second (scanning 10^7 points
 * takes seconds on two cores, so the full range never reads the points):
 * - The window [xMin, xMax] becomes a step range per run (for another x key, through that key's
 *   summaries then a short index scan: x is assumed to grow with the step, as counters do).
 * - When the run's points in the window fit in `points`, they come back as logged (full resolution),
 *   read by one index range scan on MetricPoint (seriesId, step).
 * - Otherwise the window is cut into points/4 equal step buckets and each keeps its first, last,
 *   minimum and maximum points and its first NaN/infinite point (a gap), so no spike is hidden
 *   (downsample.ts states the rule). The inside of the window is read from the stored summaries of
 *   write-summaries.ts at the coarsest level whose buckets are no wider than an output bucket (at
 *   most `points` rows per run, an index range scan on MetricSummary's key), the ragged edges from
 *   the points; those rows are merged into output buckets by their first step. Every point returned
 *   is a real logged point; only bucket boundaries are rounded to summary buckets.
 * - A series without complete summaries (logged before they existed) is bucketed in SQL from its
 *   points: exact, but it reads every point in the window.
 * All runs go through each query together: a handful of round trips per request, not per run. The
 * per-run subqueries are LATERAL with OFFSET 0, which keeps PostgreSQL from flattening them into a
 * hash join over the whole table. Rows come back as one bytea per run (see M4_ROW_SQL).
 */

export const SERIES_POINTS_MAX = 5000;

export const ZSeriesQuery = z
  .object({
    runIds: z.array(z.string().min(1)).min(1).max(200),
    key: z.string().min(1).max(200),
    /** "step", or any logged key used as x: "wallclock", "flops", "samples", "tokens", ... */
    x: z.string().min(1).max(200).default("step"),
    xMin: z.number().finite().optional(),
    xMax: z.number().finite().optional(),
    /** The most points returned per run. */
    points: z.number().int().min(4).max(SERIES_POINTS_MAX).default(1000),
  })
  .refine((input) => input.xMin === undefined || input.xMax === undefined || input.xMin <= input.xMax, { message: "xMin must not exceed xMax", path: ["xMin"] });
export type SeriesQuery = z.input<typeof ZSeriesQuery>;

export type SeriesResult = {
  runId: string;
  key: string;
  points: ChartPoint[];
  /** True when the window held more than `points` points and buckets were kept instead. */
  downsampled: boolean;
  /** Points of `key` logged in the window. */
  total: number;
};

export const ZMetricKeysQuery = z.object({ runIds: z.array(z.string().min(1)).min(1).max(200) });

/** Every run must be readable by the actor (viewer in its team); unknown and other teams' runs are NOT_FOUND alike. */
export async function assertRunsReadable(db: Db, actor: Actor, runIds: readonly string[]): Promise<void> {
  const unique = [...new Set(runIds)];
  const runs = await db.run.findMany({ where: { id: { in: unique } }, select: { id: true, experiment: { select: { projectId: true } } } });
  if (runs.length !== unique.length) throw new AppError("NOT_FOUND", "Run not found");
  for (const projectId of new Set(runs.map((run) => run.experiment.projectId))) {
    try {
      await resolveProjectAccess(db, actor, projectId, "viewer");
    } catch (error) {
      if (error instanceof AppError && error.code === "NOT_FOUND") throw new AppError("NOT_FOUND", "Run not found");
      throw error;
    }
  }
}

/** The keys logged by these runs, with how many runs logged each and how many points in all. */
export async function listMetricKeys(db: Db, runIds: readonly string[]): Promise<{ keys: { key: string; runCount: number; pointCount: number }[] }> {
  const rows = await db.$queryRaw<{ key: string; runCount: number; pointCount: number }[]>`
    SELECT key, count(*)::int AS "runCount", COALESCE(sum("pointCount"), 0)::float8 AS "pointCount"
    FROM "MetricSeries" WHERE "runId" = ANY(${[...new Set(runIds)]}::text[]) GROUP BY key ORDER BY key`;
  return { keys: rows };
}

type SeriesMeta = { id: string; runId: string; key: string; pointCount: number; firstStep: number | null; lastStep: number | null; summarized: boolean };

/** One run's work: its series, step window and how it will be read. */
type Plan = {
  runId: string;
  y: SeriesMeta;
  x: SeriesMeta | null;
  lo: number;
  hi: number;
  result: SeriesResult;
};

/**
 * An M4 summary of consecutive points, the unit both SQL and this file work in: a stored summary
 * bucket, an output bucket, or a single point. Steps are never negative, so -1 stands for "none".
 */
type M4Row = {
  firstStep: number;
  lastStep: number;
  minStep: number;
  maxStep: number;
  gapStep: number;
  count: number;
  firstValue: number;
  lastValue: number;
  minValue: number;
  maxValue: number;
};

/**
 * Rows travel as one bytea per run (56 bytes a row, big-endian), not one result row each: a
 * comparison reads tens of thousands of rows, and per-cell decoding cost more than the query itself.
 */
const M4_ROW_SQL = (row: string) =>
  Prisma.raw(`int4send(${row}.first_step) || int4send(${row}.last_step) || int4send(COALESCE(${row}.min_step, -1)) || int4send(COALESCE(${row}.max_step, -1))
    || int4send(COALESCE(${row}.gap, -1)) || int4send(${row}.n) || float8send(${row}.first_value) || float8send(${row}.last_value)
    || float8send(${row}.min_value) || float8send(${row}.max_value)`);
const M4_ROW_BYTES = 56;

function decodeM4Rows(bytes: Uint8Array | null): M4Row[] {
  if (!bytes) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: M4Row[] = [];
  for (let at = 0; at + M4_ROW_BYTES <= bytes.byteLength; at += M4_ROW_BYTES) {
    rows.push({
      firstStep: view.getInt32(at),
      lastStep: view.getInt32(at + 4),
      minStep: view.getInt32(at + 8),
      maxStep: view.getInt32(at + 12),
      gapStep: view.getInt32(at + 16),
      count: view.getInt32(at + 20),
      firstValue: view.getFloat64(at + 24),
      lastValue: view.getFloat64(at + 32),
      minValue: view.getFloat64(at + 40),
      maxValue: view.getFloat64(at + 48),
    });
  }
  return rows.sort((a, b) => a.firstStep - b.firstStep);
}

/** (step, value[, x]) triples in the same encoding: 12 or 20 bytes a point. */
function decodePoints(bytes: Uint8Array | null, withX: boolean): { step: number; value: number; x: number }[] {
  if (!bytes) return [];
  const size = withX ? 20 : 12;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const points: { step: number; value: number; x: number }[] = [];
  for (let at = 0; at + size <= bytes.byteLength; at += size) {
    const step = view.getInt32(at);
    points.push({ step, value: view.getFloat64(at + 4), x: withX ? view.getFloat64(at + 12) : step });
  }
  return points;
}

const FINITE = (value: Prisma.Sql) => Prisma.sql`${value} NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)`;

export async function querySeries(db: Db, query: SeriesQuery): Promise<{ series: SeriesResult[] }> {
  const input = ZSeriesQuery.parse(query);
  const runIds = [...new Set(input.runIds)];
  const byStep = input.x === "step";
  const keys = byStep ? [input.key] : [...new Set([input.key, input.x])];
  const meta = await readSeriesMeta(db, runIds, keys);

  const plans: Plan[] = [];
  const results = runIds.map((runId): SeriesResult => {
    const result: SeriesResult = { runId, key: input.key, points: [], downsampled: false, total: 0 };
    const y = meta.get(`${runId}\u0000${input.key}`);
    const x = byStep ? null : (meta.get(`${runId}\u0000${input.x}`) ?? null);
    if (!y || y.pointCount === 0 || y.firstStep === null || y.lastStep === null) return result;
    if (!byStep && (!x || x.pointCount === 0)) return result;
    const lo = byStep && input.xMin !== undefined ? Math.max(y.firstStep, Math.ceil(input.xMin)) : y.firstStep;
    const hi = byStep && input.xMax !== undefined ? Math.min(y.lastStep, Math.floor(input.xMax)) : y.lastStep;
    plans.push({ runId, y, x, lo, hi, result });
    return result;
  });

  if (!byStep && (input.xMin !== undefined || input.xMax !== undefined)) await narrowToXWindow(db, plans, input.xMin, input.xMax);
  const live = plans.filter((plan) => plan.lo <= plan.hi);

  // Full resolution where the window's points fit; the rest are bucketed.
  const raw: Plan[] = [];
  const bucketed: Plan[] = [];
  for (const plan of live) {
    const covers = plan.lo <= plan.y.firstStep! && plan.hi >= plan.y.lastStep!;
    const span = plan.y.lastStep! - plan.y.firstStep! + 1;
    const expected = covers ? plan.y.pointCount : (plan.y.pointCount * (plan.hi - plan.lo + 1)) / span;
    (expected <= input.points ? raw : bucketed).push(plan);
  }
  const overflow = await readRaw(db, raw, input.points, byStep);
  bucketed.push(...overflow);
  const sparse = await readBuckets(db, bucketed, input.points, byStep);
  await readRaw(db, sparse, null, byStep);

  if (input.xMin !== undefined || input.xMax !== undefined) {
    const min = input.xMin ?? Number.NEGATIVE_INFINITY;
    const max = input.xMax ?? Number.POSITIVE_INFINITY;
    for (const plan of live) plan.result.points = plan.result.points.filter((point) => point.x >= min && point.x <= max);
  }
  return { series: results };
}

async function readSeriesMeta(db: Db, runIds: string[], keys: string[]): Promise<Map<string, SeriesMeta>> {
  const withSummaries = await summariesAvailable(db);
  const summarized = withSummaries
    ? Prisma.sql`(SELECT COALESCE(sum(m.count), 0) FROM "MetricSummary" m WHERE m."seriesId" = s.id AND m.level = ${TOP_SUMMARY_LEVEL}::int) = s."pointCount"`
    : Prisma.sql`false`;
  const rows = await db.$queryRaw<SeriesMeta[]>`
    SELECT s.id, s."runId", s.key, s."pointCount", s."firstStep", s."lastStep", ${summarized} AS summarized
    FROM "MetricSeries" s WHERE s."runId" = ANY(${runIds}::text[]) AND s.key = ANY(${keys}::text[])`;
  return new Map(rows.map((row) => [`${row.runId}\u0000${row.key}`, row]));
}

/** The summary level whose buckets come closest to `width` steps without exceeding it; 0 for points. */
function levelAtMost(width: number): number {
  let chosen = 0;
  for (const level of SUMMARY_LEVELS) if (SUMMARY_WIDTHS[level]! <= width) chosen = level;
  return chosen;
}

/**
 * For an x other than the step: the first step where x reaches xMin and the last where it is at most
 * xMax. Summaries (at the level nearest the square root of the span, so both scans stay short) find
 * the bucket; an index scan within it finds the step.
 */
async function narrowToXWindow(db: Db, plans: Plan[], xMin: number | undefined, xMax: number | undefined): Promise<void> {
  const withX = plans.filter((plan) => plan.x !== null);
  if (withX.length === 0) return;
  const levels = withX.map((plan) => (plan.x!.summarized ? levelAtMost(Math.sqrt(plan.x!.lastStep! - plan.x!.firstStep! + 1)) : 0));
  const rows = await db.$queryRaw<{ sid: string; lo: number | null; hi: number | null }[]>`
    WITH w AS (SELECT * FROM unnest(${withX.map((plan) => plan.x!.id)}::text[], ${levels}::int[], ${withX.map((plan) => plan.lo)}::int[], ${withX.map((plan) => plan.hi)}::int[]) AS w(sid, level, lo, hi)),
    bounds AS (
      SELECT w.sid, w.lo, w.hi,
        CASE WHEN w.level = 0 THEN w.lo ELSE (SELECT min(m."firstStep") FROM "MetricSummary" m WHERE m."seriesId" = w.sid AND m.level = w.level AND m."maxStep" IS NOT NULL AND m."maxValue" >= ${xMin ?? null}::float8) END AS scan_from,
        CASE WHEN w.level = 0 THEN w.hi ELSE (SELECT max(m."lastStep") FROM "MetricSummary" m WHERE m."seriesId" = w.sid AND m.level = w.level AND m."minStep" IS NOT NULL AND m."minValue" <= ${xMax ?? null}::float8) END AS scan_to
      FROM w
    )
    SELECT b.sid,
      ${xMin === undefined ? Prisma.sql`b.lo` : Prisma.sql`(SELECT min(p.step) FROM "MetricPoint" p WHERE b.scan_from IS NOT NULL AND p."seriesId" = b.sid AND p.step >= GREATEST(b.scan_from, b.lo) AND p.step <= b.hi AND ${FINITE(Prisma.sql`p.value`)} AND p.value >= ${xMin}::float8)`} AS lo,
      ${xMax === undefined ? Prisma.sql`b.hi` : Prisma.sql`(SELECT max(p.step) FROM "MetricPoint" p WHERE b.scan_to IS NOT NULL AND p."seriesId" = b.sid AND p.step <= LEAST(b.scan_to, b.hi) AND p.step >= b.lo AND ${FINITE(Prisma.sql`p.value`)} AND p.value <= ${xMax}::float8)`} AS hi
    FROM bounds b`;
  const bySeries = new Map(rows.map((row) => [row.sid, row]));
  for (const plan of withX) {
    const row = bySeries.get(plan.x!.id);
    if (!row || row.lo === null || row.hi === null) {
      plan.lo = 1;
      plan.hi = 0;
      continue;
    }
    plan.lo = Math.max(plan.lo, row.lo);
    plan.hi = Math.min(plan.hi, row.hi);
  }
}

function pointValue(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/**
 * Reads the windows' points as logged. With a cap, a window holding more than `cap` points is not
 * filled in but handed back, to be bucketed instead.
 */
async function readRaw(db: Db, plans: Plan[], cap: number | null, byStep: boolean): Promise<Plan[]> {
  if (plans.length === 0) return [];
  const limit = cap === null ? 2_147_483_647 : cap + 1;
  const point = byStep
    ? Prisma.sql`int4send(p.step) || float8send(p.value)`
    : Prisma.sql`int4send(p.step) || float8send(p.value) || float8send(COALESCE((SELECT value FROM "MetricPoint" WHERE "seriesId" = w.xsid AND step = p.step), 'NaN'::float8))`;
  const rows = await db.$queryRaw<{ sid: string; points: Uint8Array | null }[]>`
    SELECT w.sid, (
      SELECT string_agg(${point}, ''::bytea ORDER BY p.step)
      FROM (SELECT step, value FROM "MetricPoint" WHERE "seriesId" = w.sid AND step BETWEEN w.lo AND w.hi ORDER BY step LIMIT ${limit}::int) p
    ) AS points
    FROM unnest(${plans.map((plan) => plan.y.id)}::text[], ${plans.map((plan) => plan.x?.id ?? null)}::text[], ${plans.map((plan) => plan.lo)}::int[], ${plans.map((plan) => plan.hi)}::int[]) AS w(sid, xsid, lo, hi)`;
  const bySeries = new Map(rows.map((row) => [row.sid, row.points]));
  const overflow: Plan[] = [];
  for (const plan of plans) {
    const list = decodePoints(bySeries.get(plan.y.id) ?? null, !byStep);
    if (cap !== null && list.length > cap) {
      overflow.push(plan);
      continue;
    }
    plan.result.total = list.length;
    plan.result.downsampled = false;
    plan.result.points = list.filter((point) => Number.isFinite(point.x)).map((point) => ({ x: point.x, y: pointValue(point.value) }));
  }
  return overflow;
}

/**
 * Buckets the windows in SQL (see the file comment). Windows that turn out to hold no more than
 * `points` points are handed back, to be read in full.
 */
async function readBuckets(db: Db, plans: Plan[], points: number, byStep: boolean): Promise<Plan[]> {
  if (plans.length === 0) return [];
  const buckets = Math.max(1, Math.floor(points / 4));
  const shapes = plans.map((plan) => {
    const span = plan.hi - plan.lo + 1;
    const level = plan.y.summarized ? levelAtMost(span / buckets) : 0;
    const width = level === 0 ? 1 : SUMMARY_WIDTHS[level]!;
    let bucketLo = Math.ceil(plan.lo / width);
    let bucketHi = Math.floor((plan.hi + 1) / width) - 1;
    if (level === 0 || bucketLo > bucketHi) {
      // No whole summary bucket inside: every point of the window is read.
      bucketLo = 1;
      bucketHi = 0;
      return { level: 0, bucketLo, bucketHi, leftLo: plan.lo, leftHi: plan.hi, rightLo: 1, rightHi: 0 };
    }
    const leftHi = Math.min(plan.hi, bucketLo * width - 1);
    const rightLo = Math.max(plan.lo, (bucketHi + 1) * width);
    return {
      level,
      bucketLo,
      bucketHi,
      leftLo: plan.lo,
      leftHi: leftHi >= plan.lo ? leftHi : plan.lo - 1,
      rightLo: rightLo <= plan.hi ? rightLo : 1,
      rightHi: rightLo <= plan.hi ? plan.hi : 0,
    };
  });
  const column = <T>(pick: (shape: (typeof shapes)[number], plan: Plan) => T) => shapes.map((shape, index) => pick(shape, plans[index]!));
  const asRow = (step: Prisma.Sql, value: Prisma.Sql) => Prisma.sql`
    ${step} AS first_step, ${step} AS last_step, 1 AS n,
    CASE WHEN ${FINITE(value)} THEN ${value} ELSE 'NaN'::float8 END AS min_value, CASE WHEN ${FINITE(value)} THEN ${step} END AS min_step,
    CASE WHEN ${FINITE(value)} THEN ${value} ELSE 'NaN'::float8 END AS max_value, CASE WHEN ${FINITE(value)} THEN ${step} END AS max_step,
    ${value} AS first_value, ${value} AS last_value, CASE WHEN ${FINITE(value)} THEN NULL ELSE ${step} END AS gap`;
  const rows = await db.$queryRaw<{ sid: string; rows: Uint8Array }[]>`
    WITH w AS (
      SELECT * FROM unnest(
        ${plans.map((plan) => plan.y.id)}::text[], ${plans.map((plan) => plan.lo)}::int[], ${plans.map((plan) => plan.hi)}::int[],
        ${column((shape) => shape.level)}::int[], ${column((shape) => shape.bucketLo)}::int[], ${column((shape) => shape.bucketHi)}::int[],
        ${column((shape) => shape.leftLo)}::int[], ${column((shape) => shape.leftHi)}::int[], ${column((shape) => shape.rightLo)}::int[], ${column((shape) => shape.rightHi)}::int[]
      ) AS w(sid, lo, hi, level, bucket_lo, bucket_hi, left_lo, left_hi, right_lo, right_hi)
    ),
    c AS (
      SELECT w.sid, w.lo, w.hi, w.level, s.* FROM w CROSS JOIN LATERAL (
        SELECT m."firstStep" AS first_step, m."lastStep" AS last_step, m.count AS n, m."minValue" AS min_value, m."minStep" AS min_step,
               m."maxValue" AS max_value, m."maxStep" AS max_step, m."firstValue" AS first_value, m."lastValue" AS last_value, m."nonFiniteStep" AS gap
        FROM "MetricSummary" m WHERE w.level > 0 AND m."seriesId" = w.sid AND m.level = w.level AND m.bucket BETWEEN w.bucket_lo AND w.bucket_hi
        OFFSET 0
      ) s
      UNION ALL
      SELECT w.sid, w.lo, w.hi, w.level, e.* FROM w CROSS JOIN LATERAL (
        SELECT ${asRow(Prisma.sql`p.step`, Prisma.sql`p.value`)} FROM "MetricPoint" p WHERE p."seriesId" = w.sid AND p.step BETWEEN w.left_lo AND w.left_hi
        OFFSET 0
      ) e
      UNION ALL
      SELECT w.sid, w.lo, w.hi, w.level, e.* FROM w CROSS JOIN LATERAL (
        SELECT ${asRow(Prisma.sql`p.step`, Prisma.sql`p.value`)} FROM "MetricPoint" p WHERE p."seriesId" = w.sid AND p.step BETWEEN w.right_lo AND w.right_hi
        OFFSET 0
      ) e
    ),
    -- Windows read from points only are bucketed here, so what travels stays small.
    g AS (
      SELECT c.sid, min(c.first_step) AS first_step, max(c.last_step) AS last_step, sum(c.n)::int AS n,
        min(ARRAY[c.min_value, c.min_step::float8]) FILTER (WHERE c.min_step IS NOT NULL) AS mn,
        max(ARRAY[c.max_value, c.max_step::float8]) FILTER (WHERE c.max_step IS NOT NULL) AS mx,
        min(ARRAY[c.first_step::float8, c.first_value]) AS fst, max(ARRAY[c.last_step::float8, c.last_value]) AS lst,
        min(c.gap) AS gap
      FROM c WHERE c.level = 0
      GROUP BY c.sid, LEAST(${buckets - 1}::int, ((c.first_step - c.lo)::bigint * ${buckets}::int / GREATEST(c.hi::bigint - c.lo, 1))::int)
    ),
    r AS (
      SELECT sid, first_step, last_step, n, min_value, min_step, max_value, max_step, first_value, last_value, gap FROM c WHERE c.level > 0
      UNION ALL
      SELECT sid, first_step, last_step, n, COALESCE(mn[1], 'NaN'::float8), mn[2]::int, COALESCE(mx[1], 'NaN'::float8), mx[2]::int, fst[2], lst[2], gap FROM g
    )
    SELECT r.sid, string_agg(${M4_ROW_SQL("r")}, ''::bytea) AS rows FROM r GROUP BY r.sid`;

  const bySeries = new Map(rows.map((row) => [row.sid, row.rows]));
  const sparse: Plan[] = [];
  const kept = new Map<Plan, { step: number; value: number }[]>();
  for (const plan of plans) {
    const list = decodeM4Rows(bySeries.get(plan.y.id) ?? null);
    const total = list.reduce((sum, row) => sum + row.count, 0);
    if (total <= points) {
      sparse.push(plan);
      continue;
    }
    plan.result.total = total;
    plan.result.downsampled = true;
    kept.set(plan, mergeIntoBuckets(list, plan.lo, plan.hi, buckets).flatMap(bucketPoints));
  }

  if (byStep) {
    for (const [plan, points] of kept) plan.result.points = points.map((point) => ({ x: point.step, y: pointValue(point.value) }));
  } else {
    const pairs = [...kept].flatMap(([plan, points]) => points.map((point) => ({ sid: plan.x!.id, step: point.step })));
    const xs = await db.$queryRaw<{ sid: string; points: Uint8Array }[]>`
      SELECT t.sid, string_agg(int4send(t.step) || float8send(COALESCE((SELECT value FROM "MetricPoint" WHERE "seriesId" = t.sid AND step = t.step), 'NaN'::float8)), ''::bytea) AS points
      FROM unnest(${pairs.map((pair) => pair.sid)}::text[], ${pairs.map((pair) => pair.step)}::int[]) AS t(sid, step) GROUP BY t.sid`;
    const xAt = new Map<string, Map<number, number>>();
    for (const row of xs) xAt.set(row.sid, new Map(decodePoints(row.points, false).map((point) => [point.step, point.value])));
    for (const [plan, points] of kept) {
      const atStep = xAt.get(plan.x!.id);
      plan.result.points = points.flatMap((point) => {
        const x = atStep?.get(point.step);
        return x !== undefined && Number.isFinite(x) ? [{ x, y: pointValue(point.value) }] : [];
      });
    }
  }
  return sparse;
}

/**
 * Merges M4 rows (sorted by first step) into `buckets` equal step buckets over [lo, hi], each row
 * going to the bucket of its first step: the same split and tie rules as downsample.ts and the SQL above.
 */
function mergeIntoBuckets(rows: M4Row[], lo: number, hi: number, buckets: number): M4Row[] {
  const merged: M4Row[] = [];
  const width = Math.max(hi - lo, 1);
  let current = -1;
  for (const row of rows) {
    const bucket = Math.min(buckets - 1, Math.floor(((row.firstStep - lo) * buckets) / width));
    const into = merged.at(-1);
    if (bucket !== current || !into) {
      merged.push({ ...row });
      current = bucket;
      continue;
    }
    into.lastStep = row.lastStep;
    into.lastValue = row.lastValue;
    into.count += row.count;
    if (into.gapStep < 0) into.gapStep = row.gapStep;
    if (row.minStep >= 0 && (into.minStep < 0 || row.minValue < into.minValue)) {
      into.minStep = row.minStep;
      into.minValue = row.minValue;
    }
    if (row.maxStep >= 0 && (into.maxStep < 0 || row.maxValue >= into.maxValue)) {
      into.maxStep = row.maxStep;
      into.maxValue = row.maxValue;
    }
  }
  return merged;
}

/** One output bucket's kept points in step order: first, last, minimum, maximum and gap, at most four (downsample.ts's rule). */
function bucketPoints(row: M4Row): { step: number; value: number }[] {
  const kept = [
    { step: row.firstStep, value: row.firstValue },
    { step: row.lastStep, value: row.lastValue },
  ];
  if (row.minStep >= 0) kept.push({ step: row.minStep, value: row.minValue });
  if (row.maxStep >= 0) kept.push({ step: row.maxStep, value: row.maxValue });
  if (row.gapStep >= 0) kept.push({ step: row.gapStep, value: Number.NaN });
  kept.sort((a, b) => a.step - b.step);
  const distinct = kept.filter((point, index) => index === 0 || point.step !== kept[index - 1]!.step);
  // A gap wins over the value logged at the same step (it is that value, non-finite).
  if (row.gapStep >= 0) distinct.find((point) => point.step === row.gapStep)!.value = Number.NaN;
  return distinct.length > 4 ? distinct.filter((point) => point.step !== row.firstStep) : distinct;
}
