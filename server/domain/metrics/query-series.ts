import { z } from "zod";
import { type Db, rawRows } from "../../db.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { type ChartValue, toChartValue } from "./chart-value.ts";
import {
  appendPoints,
  CHUNK_STEPS,
  type ChunkPoints,
  COARSE_WIDTH,
  decodeSteps,
  emptyM4Row,
  FINE_WIDTH,
  M4_ROW_BYTES,
  type M4Row,
  pointRow,
  readM4Row,
} from "./chunk-codec.ts";
import { EMA_START, type EmaState, emaHorizon, emaStep, smoothingWeight } from "./ema.ts";
import { numberArrayLiteral } from "./write-summaries.ts";

/**
 * Curves for a comparison chart: one series per run, y = `key`, x = the step or any other key
 * (wallclock, flops, samples, tokens, ...).
 *
 * No logged point is dropped or hidden:
 * - Against another key, every point of `key` is kept: x is that key's value at the same step when
 *   logged there, else interpolated linearly between the nearest steps where it was logged (flagged
 *   `interpolated`); outside the steps where x was logged a point cannot be placed and is left out.
 * - A window also answers, per run, the nearest logged point on each side outside it (`before`,
 *   `after`), so a line crossing the window is drawn even with one point inside it, or none.
 * - With `smoothing`, a window starting at xMin answers the chart's EMA state before its first
 *   point, from the points logged before it (at most ema.ts's horizon of them), so a zoomed smoothed
 *   curve continues the unzoomed one.
 * - NaN, +Infinity and -Infinity come back as "NaN", "Infinity" and "-Infinity" (chart-value.ts).
 *
 * Design, for 100 runs x 100,000 points answering in well under a second (decoding 10^7 points
 * takes seconds on two cores, so the full range never reads the points):
 * - The window [xMin, xMax] becomes a step range per run (for another x key, through that key's
 *   chunk minimums and maximums, then the points of the chunk found: x is assumed to grow with the
 *   step, as counters do).
 * - When the run's points in the window fit in `points`, they come back as logged (full resolution),
 *   decoded from the chunks over the window (one index range scan on MetricChunk's key; against the
 *   step, in the statement that reads the series, which works out the same rule in SQL).
 * - Otherwise the window is cut into points/4 equal step buckets and each keeps its first, last,
 *   minimum and maximum points and its first NaN/infinite point (a gap), so no spike is hidden
 *   (downsample.ts states the rule). A chunk whose points all lie in the window gives its stored M4
 *   rows (chunk-codec.ts) at the coarsest level no wider than an output bucket (64 or 256 steps, or
 *   the chunk's own summary); the chunks at the window's edges, sparse chunks and narrow buckets
 *   give their points. The rows are merged into output buckets by their first step. Every point
 *   returned is a real logged point; only bucket boundaries are rounded to summary buckets.
 * All runs go through each query together: a handful of round trips per request, not per run (the
 * neighbours and the EMA state one more, read while the window is, the steps' x values one more, the
 * exact kind of a bucket's non-finite point one more, each only when needed). A window read as logged
 * is read a step wider on each side, which mostly answers its neighbours. Many chunks (the full range
 * of long runs) are read in up to four statements at once. The per-run subqueries are LATERAL with
 * OFFSET 0, which keeps PostgreSQL from flattening them into a hash join over the whole table. Points
 * and M4 rows travel as the stored bytes, through node-postgres rather than Prisma (which re-encodes
 * every bytea), and are decoded here into parallel lists of steps and values, not an object a point.
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
    /** The chart's EMA weight (capped at 0.999): a window starting at xMin then answers the EMA's state at its start. */
    smoothing: z.number().min(0).max(1).optional(),
  })
  .refine((input) => input.xMin === undefined || input.xMax === undefined || input.xMin <= input.xMax, {
    message: "xMin must not exceed xMax",
    path: ["xMin"],
  });
export type SeriesQuery = z.input<typeof ZSeriesQuery>;

/** A point as charts get it; `interpolated` when x was not logged at the point's step (see the file comment). */
export type SeriesPoint = { x: number; y: ChartValue; interpolated?: true };

export type SeriesResult = {
  runId: string;
  key: string;
  /** The points in the window (all of them, or min/max-preserving buckets), in step order. */
  points: SeriesPoint[];
  /** True when the window held more than `points` points and buckets were kept instead. */
  downsampled: boolean;
  /** Points of `key` logged in the window. */
  total: number;
  /** With a window: the nearest logged point before it and after it, outside it; null when there is none. */
  before: SeriesPoint | null;
  after: SeriesPoint | null;
  /**
   * With `smoothing` and xMin: the EMA (ema.ts) over the points logged before the first point returned
   * (`before`, else the first of `points`), the weight it was computed with; null otherwise (the EMA starts at zero).
   */
  ema: (EmaState & { weight: number }) | null;
};

/** Keys listed per metrics.keys answer when the caller names no limit, and the most it may name. */
export const METRIC_KEYS_PAGE = 200;
export const MAX_METRIC_KEYS_PAGE = 1_000;

export const ZMetricKeysQuery = z.object({
  runIds: z.array(z.string().min(1)).min(1).max(200),
  limit: z.number().int().min(1).max(MAX_METRIC_KEYS_PAGE).default(METRIC_KEYS_PAGE),
  /** The last key of the previous page: keys sort by name and the next page starts after it. */
  cursor: z.string().min(1).max(200).nullish(),
  /** Only keys containing this text (case-insensitive). */
  search: z.string().trim().max(200).nullish(),
});
export type MetricKeysQuery = z.input<typeof ZMetricKeysQuery>;

/** `text` as a LIKE pattern matching itself anywhere in a key: its wildcards taken literally. */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/**
 * The keys logged by these runs, a page at a time (sorted by name, after `cursor`, containing
 * `search`), with how many runs logged each and how many points in all; `total` counts every
 * matching key and `nextCursor` continues the list (null on the last page).
 */
export async function listMetricKeys(
  db: Db,
  query: { runIds: readonly string[]; limit?: number; cursor?: string | null; search?: string | null },
): Promise<{
  keys: { key: string; runCount: number; pointCount: number }[];
  total: number;
  nextCursor: string | null;
}> {
  const runIds = [...new Set(query.runIds)];
  const limit = query.limit ?? METRIC_KEYS_PAGE;
  const matching = query.search ? Prisma.sql`AND key ILIKE ${containsPattern(query.search)}` : Prisma.empty;
  const [rows, [counted]] = await Promise.all([
    db.$queryRaw<{ key: string; runCount: number; pointCount: number }[]>`
      SELECT key, count(*)::int AS "runCount", COALESCE(sum("pointCount"), 0)::float8 AS "pointCount"
      FROM "MetricSeries" WHERE "runId" = ANY(${runIds}::text[]) ${matching} ${query.cursor ? Prisma.sql`AND key COLLATE "C" > ${query.cursor}` : Prisma.empty}
      GROUP BY key ORDER BY key COLLATE "C" LIMIT ${limit + 1}`,
    db.$queryRaw<
      { total: number }[]
    >`SELECT count(DISTINCT key)::int AS total FROM "MetricSeries" WHERE "runId" = ANY(${runIds}::text[]) ${matching}`,
  ]);
  const page = rows.slice(0, limit);
  return { keys: page, total: counted?.total ?? 0, nextCursor: rows.length > limit ? page.at(-1)!.key : null };
}

type SeriesMeta = {
  id: string;
  number: number;
  runId: string;
  key: string;
  pointCount: number;
  firstStep: number | null;
  lastStep: number | null;
};

/** A logged point. */
type StepValue = { step: number; value: number };

/** Logged points in step order as two parallel lists: no object a point (a window answers up to 10^5 of them). */
type PointList = { steps: number[]; values: number[] };

function lastPoint(list: PointList): StepValue | null {
  const at = list.steps.length - 1;
  return at < 0 ? null : { step: list.steps[at]!, value: list.values[at]! };
}

/** One run's work: its series, step window and how it will be read, then what was read. */
type Plan = {
  runId: string;
  y: SeriesMeta;
  x: SeriesMeta | null;
  /** The steps of `key` read: the window's, and for another x the steps whose interpolated x may lie in it. */
  lo: number;
  hi: number;
  result: SeriesResult;
  /** The points kept from [lo, hi] (as logged or bucketed), in step order. */
  kept: PointList;
  /** Against the step, a window read as logged: its points as answered, decoded straight from the chunks (readRaw). */
  answer: SeriesPoint[] | null;
  /** Indices in `kept` of non-finite values whose kind a bucket summary does not keep (read afterwards). */
  unknown: number[];
  /** Points logged before lo, in step order: the nearest, or as many as the EMA state needs. */
  earlier: PointList;
  /** The first point logged after hi. */
  later: StepValue | null;
  /** Whether `earlier` (the nearest point) and `later` have been read. */
  besideRead: { before: boolean; after: boolean };
};

/** Which of a window's neighbours are wanted: the nearest point before it, after it. */
type Sides = { before: boolean; after: boolean };

export async function querySeries(db: Db, query: SeriesQuery): Promise<{ series: SeriesResult[] }> {
  const input = ZSeriesQuery.parse(query);
  const runIds = [...new Set(input.runIds)];
  const byStep = input.x === "step";
  const windowed = input.xMin !== undefined || input.xMax !== undefined;
  const keys = byStep ? [input.key] : [...new Set([input.key, input.x])];
  const weight = input.smoothing ? smoothingWeight(input.smoothing) : 0;
  const smoothed = weight > 0 && input.xMin !== undefined;
  const sides: Sides = { before: input.xMin !== undefined && !smoothed, after: input.xMax !== undefined };
  // Against the step, the windows to be read as logged are read with the series: one round trip less.
  const early = byStep ? await readSeriesAndPoints(db, runIds, input, sides) : null;
  const meta = early?.meta ?? (await readSeriesMeta(db, runIds, keys));

  const plans: Plan[] = [];
  const results = runIds.map((runId): SeriesResult => {
    const result: SeriesResult = {
      runId,
      key: input.key,
      points: [],
      downsampled: false,
      total: 0,
      before: null,
      after: null,
      ema: null,
    };
    const y = meta.get(`${runId}\u0000${input.key}`);
    const x = byStep ? null : (meta.get(`${runId}\u0000${input.x}`) ?? null);
    if (!y || y.pointCount === 0 || y.firstStep === null || y.lastStep === null) return result;
    if (!byStep && (!x || x.pointCount === 0 || x.firstStep === null || x.lastStep === null)) return result;
    const lo = byStep && input.xMin !== undefined ? Math.max(y.firstStep, Math.ceil(input.xMin)) : y.firstStep;
    const hi = byStep && input.xMax !== undefined ? Math.min(y.lastStep, Math.floor(input.xMax)) : y.lastStep;
    plans.push({
      runId,
      y,
      x,
      lo,
      hi,
      result,
      kept: { steps: [], values: [] },
      answer: null,
      unknown: [],
      earlier: { steps: [], values: [] },
      later: null,
      besideRead: { before: false, after: false },
    });
    return result;
  });

  if (!byStep && windowed) await narrowToXWindow(db, plans, input.xMin, input.xMax);
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
  // The points outside the window depend only on its steps: they are read while the window is.
  // The windows read as logged are read a step wider, which mostly answers their neighbours too; the
  // others' neighbours are read meanwhile, and those still missing afterwards.
  const outside = Promise.all([
    smoothed ? readEarlier(db, plans, emaHorizon(weight)) : null,
    readNeighbours(
      db,
      plans.filter((plan) => !raw.includes(plan)),
      sides,
    ),
  ]);
  const inside = (async () => {
    const overflow = await readRaw(db, raw, input.points, sides, early?.windows);
    bucketed.push(...overflow);
    const sparse = await readBuckets(db, bucketed, input.points);
    await readRaw(db, sparse, null, sides);
    await readUnknownValues(db, plans);
  })();
  await Promise.all([outside, inside]);
  await readNeighbours(
    db,
    plans.filter((plan) => (sides.before && !plan.besideRead.before) || (sides.after && !plan.besideRead.after)),
    sides,
  );
  const xs = byStep
    ? null
    : await readXAt(
        db,
        plans.map((plan) => ({
          plan,
          steps: [...plan.earlier.steps.slice(-1), ...plan.kept.steps, ...(plan.later ? [plan.later.step] : [])],
        })),
      );
  for (const plan of plans)
    assemble(plan, {
      xOf: xs ? (xs.get(plan) ?? (() => null)) : null,
      xMin: input.xMin,
      xMax: input.xMax,
      weight: smoothed ? weight : 0,
    });
  return { series: results };
}

type PlacedX = { x: number; interpolated: boolean };
type PlacedPoint = StepValue & PlacedX;

/**
 * A plan's answer from what was read: the points placed on x (those that cannot be are left out),
 * the window's points, its neighbours outside it and the EMA state before the first one returned.
 */
function assemble(
  plan: Plan,
  options: { xOf: ((step: number) => PlacedX | null) | null; xMin?: number; xMax?: number; weight: number },
): void {
  const { result } = plan;
  const { xOf } = options;
  const place = (point: StepValue | null | undefined): PlacedPoint | null => {
    if (!point) return null;
    if (!xOf) return { step: point.step, value: point.value, x: point.step, interpolated: false };
    const at = xOf(point.step);
    return at ? { step: point.step, value: point.value, x: at.x, interpolated: at.interpolated } : null;
  };
  const windowed = options.xMin !== undefined || options.xMax !== undefined;
  let before: PlacedPoint | null = null;
  let after: PlacedPoint | null = null;
  let firstInside: number | undefined;
  if (!xOf) {
    // Against the step every kept point lies in [lo, hi], inside the window: each becomes an answer point directly.
    const { steps, values } = plan.kept;
    let points = plan.answer;
    if (!points) {
      points = new Array(steps.length);
      for (let index = 0; index < steps.length; index++)
        points[index] = { x: steps[index]!, y: toChartValue(values[index]!) };
    }
    result.points = points;
    if (!result.downsampled) result.total = points.length;
    if (!windowed) return;
    before = options.xMin === undefined ? null : place(lastPoint(plan.earlier));
    after = options.xMax === undefined ? null : place(plan.later);
    firstInside = plan.answer ? plan.answer[0]?.x : steps[0];
  } else {
    const min = options.xMin ?? Number.NEGATIVE_INFINITY;
    const max = options.xMax ?? Number.POSITIVE_INFINITY;
    const placed: PlacedPoint[] = [];
    for (let index = 0; index < plan.kept.steps.length; index++) {
      const at = place({ step: plan.kept.steps[index]!, value: plan.kept.values[index]! });
      if (at) placed.push(at);
    }
    const inside = windowed ? placed.filter((point) => point.x >= min && point.x <= max) : placed;
    result.points = inside.map(seriesPoint);
    if (!result.downsampled) result.total = inside.length;
    if (!windowed) return;
    // Against another x, steps read around the window's edges may fall just outside it.
    before =
      options.xMin === undefined
        ? null
        : (placed.filter((point) => point.x < min).at(-1) ?? place(lastPoint(plan.earlier)));
    after = options.xMax === undefined ? null : (placed.find((point) => point.x > max) ?? place(plan.later));
    firstInside = inside[0]?.step;
  }
  result.before = before ? seriesPoint(before) : null;
  result.after = after ? seriesPoint(after) : null;

  const first = before?.step ?? firstInside;
  if (options.weight > 0 && first !== undefined) {
    // Against another x, the points before x's first logged step are not drawn: they do not count.
    const from = plan.x?.firstStep ?? Number.NEGATIVE_INFINITY;
    let state = EMA_START;
    for (const { steps, values } of [plan.earlier, plan.kept])
      for (let index = 0; index < steps.length && steps[index]! < first; index++)
        if (steps[index]! >= from && Number.isFinite(values[index]!))
          state = emaStep(state, options.weight, values[index]!);
    result.ema = { ...state, weight: options.weight };
  }
}

function seriesPoint(point: PlacedPoint): SeriesPoint {
  const y = toChartValue(point.value);
  return point.interpolated ? { x: point.x, y, interpolated: true } : { x: point.x, y };
}

/**
 * Runs a read through node-postgres directly (db.ts: rawRows, each statement limited to a minute):
 * Prisma's pipeline costs more CPU a statement and turns every bytea into base64 and back, which
 * cost more than the query. Its columns are text, int4 and bytea only (db.ts says why).
 */
function readRows<T>(db: Db, statement: Prisma.Sql): Promise<T[]> {
  return rawRows<T>(db, statement);
}

/** A window's steps and its chunks, read as points (readRaw). */
type ReadWindow = { lo: number; hi: number; chunks: WindowChunk[] };

/**
 * Against the step: the series of `key` (readSeriesMeta) and, for those whose window holds no more
 * points than asked (querySeries' rule, worked out here in SQL), the window's chunks as readRaw reads
 * them. readRaw takes a window from here only when its steps are its plan's, so this only saves a round trip.
 */
async function readSeriesAndPoints(
  db: Db,
  runIds: string[],
  input: { key: string; xMin?: number; xMax?: number; points: number },
  sides: Sides,
): Promise<{ meta: Map<string, SeriesMeta>; windows: Map<number, ReadWindow> }> {
  type Row = Omit<SeriesMeta, "firstStep"> &
    WindowChunk & { seriesFirstStep: number | null; windowLo: number | null; windowHi: number | null };
  const rows = await readRows<Row>(
    db,
    Prisma.sql`/* prepared: read series and window points */
    SELECT s.id, s.number, s."runId", s.key, s."pointCount", s."firstStep" AS "seriesFirstStep", s."lastStep",
           w.window_lo AS "windowLo", w.window_hi AS "windowHi", ${POINT_COLUMNS}
    FROM "MetricSeries" s
    LEFT JOIN LATERAL (
      SELECT b.lo::int AS window_lo, b.hi::int AS window_hi,
             GREATEST(0, b.lo - ${sides.before ? 1 : 0}::int)::int AS lo, LEAST(${MAX_STEP}::float8, b.hi + ${sides.after ? 1 : 0}::int)::int AS hi
      FROM (SELECT GREATEST(s."firstStep"::float8, COALESCE(ceil(${input.xMin ?? null}::float8), '-Infinity')) AS lo,
                   LEAST(s."lastStep"::float8, COALESCE(floor(${input.xMax ?? null}::float8), 'Infinity')) AS hi) b
      WHERE s."firstStep" IS NOT NULL AND s."lastStep" IS NOT NULL AND b.lo <= b.hi
        AND CASE WHEN b.lo <= s."firstStep" AND b.hi >= s."lastStep" THEN s."pointCount"::float8
                 ELSE s."pointCount"::float8 * (b.hi - b.lo + 1) / (s."lastStep" - s."firstStep" + 1)::float8 END <= ${input.points}::float8
    ) w ON true
    LEFT JOIN LATERAL (
      SELECT ${CHUNK_COLUMNS} FROM "MetricChunk" c
      WHERE c."seriesNumber" = s.number AND c.chunk BETWEEN w.lo / ${CHUNK_STEPS}::int AND w.hi / ${CHUNK_STEPS}::int OFFSET 0
    ) c ON true
    WHERE s."runId" = ANY(${runIds}::text[]) AND s.key = ${input.key}`,
  );
  const meta = new Map<string, SeriesMeta>();
  const windows = new Map<number, ReadWindow>();
  for (const row of rows) {
    const name = `${row.runId}\u0000${row.key}`;
    if (!meta.has(name))
      meta.set(name, {
        id: row.id,
        number: row.number,
        runId: row.runId,
        key: row.key,
        pointCount: row.pointCount,
        firstStep: row.seriesFirstStep,
        lastStep: row.lastStep,
      });
    if (row.windowLo === null || row.windowHi === null) continue;
    const window = windows.get(row.number) ?? { lo: row.windowLo, hi: row.windowHi, chunks: [] };
    windows.set(row.number, window);
    if (row.pointValues) window.chunks.push(row);
  }
  return { meta, windows };
}

async function readSeriesMeta(db: Db, runIds: string[], keys: string[]): Promise<Map<string, SeriesMeta>> {
  const rows = await readRows<SeriesMeta>(
    db,
    Prisma.sql`
    SELECT s.id, s.number, s."runId", s.key, s."pointCount", s."firstStep", s."lastStep"
    FROM "MetricSeries" s WHERE s."runId" = ANY(${runIds}::text[]) AND s.key = ANY(${keys}::text[])`,
  );
  return new Map(rows.map((row) => [`${row.runId}\u0000${row.key}`, row]));
}

/** What a window read asks of one series: its chunks over [lo, hi], as points or (level > 0) as M4 rows where whole. */
type ChunkRequest = { number: number; lo: number; hi: number; level: number };
type WindowChunk = {
  i: number;
  chunk: number;
  count: number;
  firstStep: number;
  stepOffsets: Uint8Array | null;
  pointValues: Uint8Array | null;
  m4: Uint8Array | null;
};

/** Stored M4 levels: 1 = 64-step buckets, 2 = 256-step buckets, 3 = the chunk (1,024 steps). */
const LEVEL_WIDTHS = [0, FINE_WIDTH, COARSE_WIDTH, CHUNK_STEPS] as const;

/**
 * The level to bucket with for output buckets of `width` steps: the stored level closest to it
 * without exceeding it; for buckets of 16 to 64 steps the 64-step rows all the same (at most 4 times
 * coarser, where reading every point would read 16 to 64 a bucket); 0 (points) below.
 */
function readingLevel(width: number): number {
  return Math.max(levelAtMost(width), width >= 16 ? 1 : 0);
}

/** The stored level whose buckets come closest to `width` steps without exceeding it; 0 for points. */
function levelAtMost(width: number): number {
  let chosen = 0;
  for (let level = 1; level < LEVEL_WIDTHS.length; level++) if (LEVEL_WIDTHS[level]! <= width) chosen = level;
  return chosen;
}

const CHUNK_M4_SQL =
  Prisma.raw(`int4send(c."firstStep") || int4send(c."lastStep") || int4send(COALESCE(c."minStep", -1)) || int4send(COALESCE(c."maxStep", -1))
  || int4send(COALESCE(c."nonFiniteStep", -1)) || int4send(c.count) || float8send(c."firstValue") || float8send(c."lastValue")
  || float8send(c."minValue") || float8send(c."maxValue")`);

// A chunk holding every step of its range gives only the window's slice of its values (w.lo, w.hi: the
// steps read).
const POINT_COLUMNS = Prisma.sql`COALESCE(c.chunk, -1) AS chunk,
    CASE WHEN c."stepOffsets" IS NULL THEN GREATEST(0, c.slice_to - c.slice_from + 1) ELSE c.count END AS count,
    CASE WHEN c."stepOffsets" IS NULL THEN c.slice_from ELSE c."firstStep" END AS "firstStep",
    c."stepOffsets",
    CASE WHEN c."stepOffsets" IS NOT NULL THEN c."pointValues"
         WHEN c.slice_to < c.slice_from THEN ''::bytea
         ELSE substring(c."pointValues" FROM (c.slice_from - c."firstStep") * 8 + 1 FOR (c.slice_to - c.slice_from + 1) * 8) END AS "pointValues"`;
const CHUNK_COLUMNS = Prisma.sql`c.chunk, c.count, c."firstStep", c."stepOffsets", c."pointValues",
    GREATEST(w.lo, c."firstStep") AS slice_from, LEAST(w.hi, c."lastStep") AS slice_to`;

/**
 * The chunks of each request's window, one index range scan per request: a chunk whose points all
 * lie in the window comes as its M4 rows at the request's level when it has them; every other chunk
 * (an edge, a sparse chunk, level 0) comes as its points.
 */
async function readWindowChunks(db: Db, requests: ChunkRequest[]): Promise<WindowChunk[][]> {
  // Many chunks (the full range of long runs) are read in a few statements at once, so PostgreSQL
  // works on more than one core and while this process decodes; a few chunks, in one statement.
  const chunksOf = (request: ChunkRequest) =>
    Math.floor(request.hi / CHUNK_STEPS) - Math.floor(request.lo / CHUNK_STEPS) + 1;
  const total = requests.reduce((sum, request) => sum + chunksOf(request), 0);
  const perGroup = Math.max(CHUNKS_PER_STATEMENT, Math.ceil(total / MAX_PARALLEL_STATEMENTS));
  const groups: ChunkRequest[][] = [[]];
  let inGroup = 0;
  for (const request of requests) {
    if (inGroup >= perGroup) {
      groups.push([]);
      inGroup = 0;
    }
    groups.at(-1)!.push(request);
    inGroup += chunksOf(request);
  }
  return (await Promise.all(groups.map((group) => readWindowChunkGroup(db, group)))).flat();
}
const CHUNKS_PER_STATEMENT = 2_000;
const MAX_PARALLEL_STATEMENTS = 4;

async function readWindowChunkGroup(db: Db, requests: ChunkRequest[]): Promise<WindowChunk[][]> {
  const byRequest: WindowChunk[][] = requests.map(() => []);
  if (requests.length === 0) return byRequest;
  const column = (pick: (request: ChunkRequest) => number) => numberArrayLiteral(requests.map(pick));
  const windows = Prisma.sql`unnest(${column((request) => request.number)}::int[], ${column((request) => request.lo)}::int[], ${column((request) => request.hi)}::int[],
    ${column((request) => request.level)}::int[]) WITH ORDINALITY AS w(sn, lo, hi, level, i)`;
  const inWindow = Prisma.sql`c."seriesNumber" = w.sn AND c.chunk BETWEEN w.lo / ${CHUNK_STEPS}::int AND w.hi / ${CHUNK_STEPS}::int`;
  // Only points: one range scan a window.
  // With summaries: one pass over each window's chunks concatenates the M4 rows of those summarized (in
  // chunk order) and lists the others, which are then read by key: the chunks summarized never have
  // their points detoasted, and no chunk is read twice. The M4 rows travel as one bytea a request, on
  // its first row (per-row decoding would cost more than the query).
  const rows = requests.every((request) => request.level === 0)
    ? await readRows<WindowChunk>(
        db,
        Prisma.sql`/* prepared: read window points */
        SELECT (w.i - 1)::int AS i, NULL::bytea AS m4, ${POINT_COLUMNS}
        FROM ${windows} CROSS JOIN LATERAL (SELECT ${CHUNK_COLUMNS} FROM "MetricChunk" c WHERE ${inWindow} OFFSET 0) c`,
      )
    : await readRows<WindowChunk>(
        db,
        Prisma.sql`/* prepared: read window chunks */
        SELECT (w.i - 1)::int AS i, CASE WHEN r.n IS NULL OR r.n = 1 THEN m.m4 END AS m4, ${POINT_COLUMNS}
        FROM ${windows}
        CROSS JOIN LATERAL (
          SELECT string_agg(c.m4, ''::bytea ORDER BY c.chunk) FILTER (WHERE c.m4 IS NOT NULL) AS m4,
                 array_agg(c.chunk) FILTER (WHERE c.m4 IS NULL) AS rest
          FROM (
            SELECT c.chunk,
                   CASE WHEN w.level > 0 AND c."firstStep" >= w.lo AND c."lastStep" <= w.hi THEN
                     CASE WHEN w.level = 1 THEN c."m4Fine" WHEN w.level = 2 THEN c."m4Coarse" ELSE ${CHUNK_M4_SQL} END
                   END AS m4
            FROM "MetricChunk" c WHERE ${inWindow} OFFSET 0
          ) c
        ) m
        LEFT JOIN LATERAL unnest(m.rest) WITH ORDINALITY AS r(chunk, n) ON true
        LEFT JOIN LATERAL (SELECT ${CHUNK_COLUMNS} FROM "MetricChunk" c WHERE c."seriesNumber" = w.sn AND c.chunk = r.chunk) c ON true`,
      );
  for (const row of rows) byRequest[row.i]!.push(row);
  return byRequest;
}

/** The points of chunks (read as points) within [lo, hi], in step order. */
function windowPoints(chunks: WindowChunk[], lo: number, hi: number): PointList {
  const points: PointList = { steps: [], values: [] };
  const sorted = [...chunks].sort((a, b) => a.chunk - b.chunk);
  for (const chunk of sorted)
    if (chunk.pointValues) appendPoints(chunk as ChunkPoints, lo, hi, points.steps, points.values);
  return points;
}

/** The points of chunks (read as points) within [lo, hi] as answered against the step, in step order. */
function windowAnswer(chunks: WindowChunk[], lo: number, hi: number): SeriesPoint[] {
  let capacity = 0;
  for (const chunk of chunks) if (chunk.pointValues) capacity += chunk.count;
  const points: SeriesPoint[] = new Array(capacity);
  let count = 0;
  const sorted = [...chunks].sort((a, b) => a.chunk - b.chunk);
  for (const chunk of sorted) {
    if (!chunk.pointValues) continue;
    decodeSteps(chunk as ChunkPoints, (step, value) => {
      if (step >= lo && step <= hi) points[count++] = { x: step, y: toChartValue(value) };
    });
  }
  points.length = count;
  return points;
}

/**
 * For an x other than the step: the steps of `key` whose x may lie in [xMin, xMax]. x's first point
 * reaching xMin and its last point at most xMax are found through the chunks' own minimums and
 * maximums (x is assumed to grow with the step, as counters do, but a chunk that does not hold the
 * answer is passed over), then the points of the chunk found. The steps read run from just after the
 * x point before the first (a point of `key` between the two gets an x between them, maybe in the
 * window) to just before the x point after the last.
 */
async function narrowToXWindow(
  db: Db,
  plans: Plan[],
  xMin: number | undefined,
  xMax: number | undefined,
): Promise<void> {
  const withX = plans.filter((plan) => plan.x !== null);
  type Found = { step: number; beside: number | null } | null;
  const find = async (forward: boolean, bound: number) => {
    const found = new Map<Plan, Found>();
    let pending = withX.map((plan) => ({ plan, from: forward ? 0 : MAX_STEP }));
    while (pending.length > 0) {
      const column = (pick: (entry: (typeof pending)[number]) => number) => numberArrayLiteral(pending.map(pick));
      const rows = await readRows<WindowChunk & { lastStep: number; beside: number | null }>(
        db,
        Prisma.sql`
        SELECT (w.i - 1)::int AS i, c.chunk, c.count, c."firstStep", c."lastStep", c."stepOffsets", c."pointValues", NULL::bytea AS m4,
          ${
            forward
              ? Prisma.sql`(SELECT p."lastStep" FROM "MetricChunk" p WHERE p."seriesNumber" = w.sn AND p.chunk < c.chunk ORDER BY p.chunk DESC LIMIT 1)`
              : Prisma.sql`(SELECT p."firstStep" FROM "MetricChunk" p WHERE p."seriesNumber" = w.sn AND p.chunk > c.chunk ORDER BY p.chunk LIMIT 1)`
          } AS beside
        FROM unnest(${column((entry) => entry.plan.x!.number)}::int[], ${column((entry) => entry.from)}::int[]) WITH ORDINALITY AS w(sn, from_step, i)
        CROSS JOIN LATERAL (
          SELECT * FROM "MetricChunk" c WHERE c."seriesNumber" = w.sn
            ${
              forward
                ? Prisma.sql`AND c."lastStep" >= w.from_step AND c."maxStep" IS NOT NULL AND c."maxValue" >= ${bound}::float8 ORDER BY c.chunk`
                : Prisma.sql`AND c."firstStep" <= w.from_step AND c."minStep" IS NOT NULL AND c."minValue" <= ${bound}::float8 ORDER BY c.chunk DESC`
            }
          LIMIT 1
        ) c`,
      );
      const next: typeof pending = [];
      const byIndex = new Map(rows.map((row) => [row.i, row]));
      pending.forEach((entry, index) => {
        const chunk = byIndex.get(index);
        if (!chunk) {
          found.set(entry.plan, null);
          return;
        }
        // The answer, and the finite x step beside it in this chunk (before it going forward, after it going back).
        let answer: number | null = null;
        let beside: number | null = null;
        decodeSteps(chunk as ChunkPoints, (step, value) => {
          if (!Number.isFinite(value)) return;
          if (forward) {
            if (answer !== null) return;
            if (step >= entry.from && value >= bound) answer = step;
            else beside = step;
          } else if (step <= entry.from && value <= bound) {
            answer = step;
            beside = null;
          } else if (answer !== null && beside === null) beside = step;
        });
        if (answer !== null) found.set(entry.plan, { step: answer, beside: beside ?? chunk.beside });
        else if (forward) next.push({ plan: entry.plan, from: chunk.lastStep + 1 });
        else next.push({ plan: entry.plan, from: chunk.firstStep - 1 });
      });
      pending = next;
    }
    return found;
  };
  const los = xMin === undefined ? null : await find(true, xMin);
  const his = xMax === undefined ? null : await find(false, xMax);
  for (const plan of withX) {
    const x = plan.x!;
    if (los) {
      const first = los.get(plan)!;
      // No x reaches xMin: no step of `key` that can be placed does either.
      plan.lo = Math.max(plan.lo, first === null ? x.lastStep! + 1 : first.beside === null ? 0 : first.beside + 1);
    }
    if (his) {
      const last = his.get(plan)!;
      plan.hi = Math.min(plan.hi, last === null ? x.firstStep! - 1 : last.beside === null ? MAX_STEP : last.beside - 1);
    }
  }
}

/** The largest step PostgreSQL's int4 holds. */
const MAX_STEP = 2_147_483_647;

/**
 * x at the given steps of each plan: as logged at the step, else interpolated between the nearest
 * steps where x was logged (finite values only); null outside them. The steps' chunks are read in
 * contiguous runs, each with the nearest x chunk before and after it, which hold the nearest x points
 * (one range scan and two index probes a run, all plans in one query).
 */
async function readXAt(
  db: Db,
  wanted: { plan: Plan; steps: number[] }[],
): Promise<Map<Plan, (step: number) => PlacedX | null>> {
  const requests: { number: number; from: number; to: number; plan: number }[] = [];
  wanted.forEach(({ plan, steps }, index) => {
    const chunks = [...new Set(steps.map((step) => Math.floor(step / CHUNK_STEPS)))].sort((a, b) => a - b);
    for (const chunk of chunks) {
      const last = requests.at(-1);
      if (last && last.plan === index && last.to >= chunk - 1) last.to = chunk;
      else requests.push({ number: plan.x!.number, from: chunk, to: chunk, plan: index });
    }
  });
  const byPlan: WindowChunk[][] = wanted.map(() => []);
  if (requests.length > 0) {
    const column = (pick: (request: (typeof requests)[number]) => number) => numberArrayLiteral(requests.map(pick));
    const rows = await readRows<WindowChunk>(
      db,
      Prisma.sql`/* prepared: read x chunks */
      SELECT DISTINCT ON (w.p, c.chunk) w.p::int AS i, c.chunk, c.count, c."firstStep", c."stepOffsets", c."pointValues", NULL::bytea AS m4
      FROM unnest(${column((request) => request.number)}::int[], ${column((request) => request.from)}::int[], ${column((request) => request.to)}::int[],
                  ${column((request) => request.plan)}::int[]) AS w(sn, lo, hi, p)
      CROSS JOIN LATERAL (
        (SELECT * FROM "MetricChunk" c WHERE c."seriesNumber" = w.sn AND c.chunk BETWEEN w.lo AND w.hi OFFSET 0)
        UNION ALL
        (SELECT * FROM "MetricChunk" c WHERE c."seriesNumber" = w.sn AND c.chunk < w.lo ORDER BY c.chunk DESC LIMIT 1)
        UNION ALL
        (SELECT * FROM "MetricChunk" c WHERE c."seriesNumber" = w.sn AND c.chunk > w.hi ORDER BY c.chunk LIMIT 1)
      ) c
      ORDER BY w.p, c.chunk`,
    );
    for (const row of rows) byPlan[row.i]!.push(row);
  }
  const result = new Map<Plan, (step: number) => PlacedX | null>();
  wanted.forEach(({ plan }, index) => {
    const steps: number[] = [];
    const values: number[] = [];
    for (const chunk of byPlan[index]!)
      decodeSteps(chunk as ChunkPoints, (step, value) => {
        if (Number.isFinite(value)) {
          steps.push(step);
          values.push(value);
        }
      });
    result.set(plan, (step) => {
      // The first x step at or after `step`.
      let low = 0;
      let high = steps.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (steps[middle]! < step) low = middle + 1;
        else high = middle;
      }
      if (low < steps.length && steps[low] === step) return { x: values[low]!, interpolated: false };
      if (low === 0 || low === steps.length) return null;
      const [s0, s1, x0, x1] = [steps[low - 1]!, steps[low]!, values[low - 1]!, values[low]!];
      return { x: x0 + ((x1 - x0) * (step - s0)) / (s1 - s0), interpolated: true };
    });
  });
  return result;
}

/** Reads the windows' points as logged. With a cap, a window holding more than `cap` points is not read but handed back, to be bucketed. */
async function readRaw(
  db: Db,
  plans: Plan[],
  cap: number | null,
  sides: Sides,
  read?: Map<number, ReadWindow>,
): Promise<Plan[]> {
  if (plans.length === 0) return [];
  // The windows already read (readSeriesAndPoints) over exactly these steps are not read again.
  const known = (plan: Plan) => {
    const window = read?.get(plan.y.number);
    return window && window.lo === plan.lo && window.hi === plan.hi ? window.chunks : null;
  };
  const unread = plans.filter((plan) => !known(plan));
  // A step more on each side wanted: the chunks read then mostly hold the window's neighbours.
  const fetched = await readWindowChunks(
    db,
    unread.map((plan) => ({
      number: plan.y.number,
      lo: sides.before ? Math.max(0, plan.lo - 1) : plan.lo,
      hi: sides.after ? Math.min(MAX_STEP, plan.hi + 1) : plan.hi,
      level: 0,
    })),
  );
  const chunks = plans.map((plan) => known(plan) ?? fetched[unread.indexOf(plan)]!);
  const overflow: Plan[] = [];
  plans.forEach((plan, index) => {
    takeNeighbours(plan, chunks[index]!, sides);
    if (!plan.x) {
      // Against the step the points are answered as they are: no list of steps and values between.
      const answer = windowAnswer(chunks[index]!, plan.lo, plan.hi);
      if (cap !== null && answer.length > cap) {
        overflow.push(plan);
        return;
      }
      plan.answer = answer;
      plan.result.total = answer.length;
      plan.result.downsampled = false;
      return;
    }
    const points = windowPoints(chunks[index]!, plan.lo, plan.hi);
    if (cap !== null && points.steps.length > cap) {
      overflow.push(plan);
      return;
    }
    plan.kept = points;
    plan.result.total = points.steps.length;
    plan.result.downsampled = false;
  });
  return overflow;
}

/**
 * A window's neighbours from chunks read over it (as points): the nearest point before lo among them,
 * if any, is the nearest logged (the chunks before the first read hold only earlier steps), and
 * likewise after hi. A side they do not answer is left to readNeighbours.
 */
function takeNeighbours(plan: Plan, chunks: WindowChunk[], sides: Sides): void {
  let beforeStep = -1;
  let beforeValue = 0;
  let afterStep = -1;
  let afterValue = 0;
  for (const chunk of chunks) {
    if (!chunk.pointValues || chunk.count === 0) continue;
    const values = new DataView(chunk.pointValues.buffer, chunk.pointValues.byteOffset, chunk.pointValues.byteLength);
    if (!chunk.stepOffsets) {
      // Consecutive steps from firstStep: the one just outside the window, when held.
      const last = chunk.firstStep + chunk.count - 1;
      const below = Math.min(plan.lo - 1, last);
      if (below >= chunk.firstStep && below > beforeStep) {
        beforeStep = below;
        beforeValue = values.getFloat64((below - chunk.firstStep) * 8);
      }
      const above = Math.max(plan.hi + 1, chunk.firstStep);
      if (above <= last && (afterStep < 0 || above < afterStep)) {
        afterStep = above;
        afterValue = values.getFloat64((above - chunk.firstStep) * 8);
      }
      continue;
    }
    const offsets = new DataView(chunk.stepOffsets.buffer, chunk.stepOffsets.byteOffset, chunk.stepOffsets.byteLength);
    const base = chunk.chunk * CHUNK_STEPS;
    for (let index = 0; index < chunk.count; index++) {
      const step = base + offsets.getUint16(index * 2);
      if (step < plan.lo && step > beforeStep) {
        beforeStep = step;
        beforeValue = values.getFloat64(index * 8);
      }
      if (step > plan.hi && (afterStep < 0 || step < afterStep)) {
        afterStep = step;
        afterValue = values.getFloat64(index * 8);
      }
    }
  }
  // Nothing is logged before the series' first step or after its last.
  if (sides.before && (beforeStep >= 0 || plan.lo <= plan.y.firstStep!)) {
    plan.earlier = beforeStep >= 0 ? { steps: [beforeStep], values: [beforeValue] } : { steps: [], values: [] };
    plan.besideRead.before = true;
  }
  if (sides.after && (afterStep >= 0 || plan.hi >= plan.y.lastStep!)) {
    plan.later = afterStep >= 0 ? { step: afterStep, value: afterValue } : null;
    plan.besideRead.after = true;
  }
}

/**
 * Buckets the windows (see the file comment). Windows that turn out to hold no more than `points`
 * points are handed back, to be read in full.
 */
async function readBuckets(db: Db, plans: Plan[], points: number): Promise<Plan[]> {
  if (plans.length === 0) return [];
  const buckets = Math.max(1, Math.floor(points / 4));
  const chunks = await readWindowChunks(
    db,
    plans.map((plan) => ({
      number: plan.y.number,
      lo: plan.lo,
      hi: plan.hi,
      level: readingLevel((plan.hi - plan.lo + 1) / buckets),
    })),
  );
  const sparse: Plan[] = [];
  plans.forEach((plan, index) => {
    const merged = mergeIntoBuckets(
      chunks[index]!.find((chunk) => chunk.m4)?.m4 ?? null,
      windowPoints(chunks[index]!, plan.lo, plan.hi),
      plan.lo,
      plan.hi,
      buckets,
    );
    let total = 0;
    for (const row of merged) total += row.count;
    if (total <= points) {
      sparse.push(plan);
      return;
    }
    plan.result.total = total;
    plan.result.downsampled = true;
    for (const bucket of merged) bucketPoints(bucket, plan);
  });
  return sparse;
}

/**
 * The points logged before each plan's first step, for the EMA state: the chunks walked back from
 * it, one index probe each, until they hold `horizon` more points than the chunk the walk starts in
 * can hold after it (the state needs the last `horizon` finite values; see ema.ts). Bounded: at most
 * horizon + 2 * CHUNK_STEPS points a plan.
 */
async function readEarlier(db: Db, plans: Plan[], horizon: number): Promise<void> {
  if (plans.length === 0) return;
  const need = horizon + CHUNK_STEPS;
  const column = (pick: (plan: Plan) => number) => numberArrayLiteral(plans.map(pick));
  const rows = await readRows<WindowChunk>(
    db,
    Prisma.sql`/* prepared: read points before windows */
    WITH RECURSIVE w AS (
      SELECT * FROM unnest(${column((plan) => plan.y.number)}::int[], ${column((plan) => plan.lo)}::int[]) WITH ORDINALITY AS w(sn, bound, i)
    ), walk AS (
      SELECT w.i, w.sn, w.bound, c.chunk, c.count AS total
      FROM w CROSS JOIN LATERAL (
        SELECT c.chunk, c.count FROM "MetricChunk" c
        WHERE c."seriesNumber" = w.sn AND c.chunk <= (w.bound - 1) / ${CHUNK_STEPS}::int AND c."firstStep" < w.bound
        ORDER BY c.chunk DESC LIMIT 1
      ) c
      UNION ALL
      SELECT walk.i, walk.sn, walk.bound, c.chunk, walk.total + c.count
      FROM walk CROSS JOIN LATERAL (
        SELECT c.chunk, c.count FROM "MetricChunk" c WHERE c."seriesNumber" = walk.sn AND c.chunk < walk.chunk ORDER BY c.chunk DESC LIMIT 1
      ) c
      WHERE walk.total < ${need}::int
    )
    SELECT (walk.i - 1)::int AS i, c.chunk, c.count, c."firstStep", c."stepOffsets", c."pointValues", NULL::bytea AS m4
    FROM walk JOIN "MetricChunk" c ON c."seriesNumber" = walk.sn AND c.chunk = walk.chunk`,
  );
  const byPlan: WindowChunk[][] = plans.map(() => []);
  for (const row of rows) byPlan[row.i]!.push(row);
  plans.forEach((plan, index) => {
    plan.earlier = windowPoints(byPlan[index]!, 0, plan.lo - 1);
  });
}

/**
 * The nearest point logged before each plan's first step (`before`) and after its last (`after`), as
 * asked, in one statement: the first chunk holding one (one index probe a plan and side). Mostly read
 * from the chunk's summary (its last or first point) or, in a chunk of consecutive steps, as the 8
 * bytes at that step; only a chunk with gaps between its steps that straddles the bound comes with its points.
 */
async function readNeighbours(db: Db, plans: Plan[], sides: Sides): Promise<void> {
  if (plans.length === 0 || (!sides.before && !sides.after)) return;
  for (const plan of plans) {
    // Read now: a side without a row has no neighbour.
    if (sides.before) {
      plan.earlier = { steps: [], values: [] };
      plan.besideRead.before = true;
    }
    if (sides.after) {
      plan.later = null;
      plan.besideRead.after = true;
    }
  }
  const column = (pick: (plan: Plan) => number) => numberArrayLiteral(plans.map(pick));
  const side = (before: boolean) => Prisma.sql`
    SELECT ${before}::bool AS before, (w.i - 1)::int AS i, c.chunk, c.count, c."firstStep", c."lastStep", NULL::bytea AS m4,
      ${before ? Prisma.sql`float8send(c."lastValue")` : Prisma.sql`float8send(c."firstValue")`} AS edge,
      ${before ? Prisma.sql`w.bound - 1` : Prisma.sql`w.bound + 1`} AS at,
      ${
        before
          ? Prisma.sql`CASE WHEN c."lastStep" >= w.bound AND c."stepOffsets" IS NULL THEN substring(c."pointValues" FROM (w.bound - 1 - c."firstStep") * 8 + 1 FOR 8) END`
          : Prisma.sql`CASE WHEN c."firstStep" <= w.bound AND c."stepOffsets" IS NULL THEN substring(c."pointValues" FROM (w.bound + 1 - c."firstStep") * 8 + 1 FOR 8) END`
      } AS "atValue",
      CASE WHEN ${before ? Prisma.sql`c."lastStep" >= w.bound` : Prisma.sql`c."firstStep" <= w.bound`} AND c."stepOffsets" IS NOT NULL THEN c."stepOffsets" END AS "stepOffsets",
      CASE WHEN ${before ? Prisma.sql`c."lastStep" >= w.bound` : Prisma.sql`c."firstStep" <= w.bound`} AND c."stepOffsets" IS NOT NULL THEN c."pointValues" END AS "pointValues"
    FROM unnest(${column((plan) => plan.y.number)}::int[], ${column((plan) => (before ? plan.lo : plan.hi))}::int[]) WITH ORDINALITY AS w(sn, bound, i)
    CROSS JOIN LATERAL (
      SELECT * FROM "MetricChunk" c WHERE c."seriesNumber" = w.sn AND ${
        before
          ? Prisma.sql`c.chunk <= (w.bound - 1) / ${CHUNK_STEPS}::int AND c."firstStep" < w.bound ORDER BY c.chunk DESC`
          : Prisma.sql`c.chunk >= (w.bound + 1) / ${CHUNK_STEPS}::int AND c."lastStep" > w.bound ORDER BY c.chunk`
      } LIMIT 1
    ) c`;
  const rows = await readRows<
    WindowChunk & {
      before: boolean;
      lastStep: number;
      edge: Uint8Array | null;
      at: number | null;
      atValue: Uint8Array | null;
    }
  >(
    db,
    Prisma.sql`/* prepared: read window neighbours */ ${
      sides.before && sides.after ? Prisma.sql`(${side(true)}) UNION ALL (${side(false)})` : side(sides.before)
    }`,
  );
  const float = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0);
  for (const row of rows) {
    const plan = plans[row.i]!;
    const { before } = row;
    let point: StepValue | null;
    if (row.pointValues) {
      const points = windowPoints([row], before ? 0 : plan.hi + 1, before ? plan.lo - 1 : MAX_STEP);
      const at = before ? points.steps.length - 1 : 0;
      point = at < points.steps.length && at >= 0 ? { step: points.steps[at]!, value: points.values[at]! } : null;
    } else if (row.atValue) point = { step: row.at!, value: float(row.atValue) };
    else point = { step: before ? row.lastStep : row.firstStep, value: float(row.edge!) };
    if (before) plan.earlier = point ? { steps: [point.step], values: [point.value] } : { steps: [], values: [] };
    else plan.later = point;
  }
}

/**
 * Bucket summaries keep the step of a bucket's first non-finite point, not which value it was; those
 * points' values are read from their chunks (bounded by the buckets returned).
 */
async function readUnknownValues(db: Db, plans: Plan[]): Promise<void> {
  const requests = plans.flatMap((plan, index) => {
    const steps = plan.unknown.map((at) => plan.kept.steps[at]!);
    const chunks = [...new Set(steps.map((step) => Math.floor(step / CHUNK_STEPS)))];
    return chunks.map((chunk) => ({ number: plan.y.number, chunk, plan: index }));
  });
  if (requests.length === 0) return;
  const column = (pick: (request: (typeof requests)[number]) => number) => numberArrayLiteral(requests.map(pick));
  const rows = await readRows<WindowChunk>(
    db,
    Prisma.sql`/* prepared: read non-finite values */
    SELECT w.p::int AS i, c.chunk, c.count, c."firstStep", c."stepOffsets", c."pointValues", NULL::bytea AS m4
    FROM unnest(${column((request) => request.number)}::int[], ${column((request) => request.chunk)}::int[], ${column((request) => request.plan)}::int[]) AS w(sn, chunk, p)
    JOIN "MetricChunk" c ON c."seriesNumber" = w.sn AND c.chunk = w.chunk`,
  );
  const values = plans.map(() => new Map<number, number>());
  for (const row of rows) decodeSteps(row as ChunkPoints, (step, value) => values[row.i]!.set(step, value));
  plans.forEach((plan, index) => {
    for (const at of plan.unknown) {
      const value = values[index]!.get(plan.kept.steps[at]!);
      if (value !== undefined) plan.kept.values[at] = value;
    }
    plan.unknown = [];
  });
}

/**
 * Merges M4 rows into `buckets` equal step buckets over [lo, hi], each row going to the bucket of its
 * first step: the same split and tie rules as downsample.ts. The rows are the stored ones (`stored`,
 * M4_ROW_BYTES each, in step order) and the single points (in step order), taken in order of first step.
 */
function mergeIntoBuckets(
  stored: Uint8Array | null,
  singles: PointList,
  lo: number,
  hi: number,
  buckets: number,
): M4Row[] {
  const merged: M4Row[] = [];
  const width = Math.max(hi - lo, 1);
  const view = stored ? new DataView(stored.buffer, stored.byteOffset, stored.byteLength) : null;
  const storedRows = stored ? Math.floor(stored.byteLength / M4_ROW_BYTES) : 0;
  const row = emptyM4Row();
  let current = -1;
  let storedAt = 0;
  let singleAt = 0;
  while (storedAt < storedRows || singleAt < singles.steps.length) {
    const storedFirst = storedAt < storedRows ? view!.getInt32(storedAt * M4_ROW_BYTES) : Number.POSITIVE_INFINITY;
    if (singleAt < singles.steps.length && singles.steps[singleAt]! < storedFirst) {
      pointRow(singles.steps[singleAt]!, singles.values[singleAt]!, row);
      singleAt++;
    } else readM4Row(view!, M4_ROW_BYTES * storedAt++, row);
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

/**
 * One output bucket's kept points in step order, appended to the plan's: first, last, minimum, maximum
 * and gap, at most four (downsample.ts's rule). The gap's value is known when it is the bucket's first
 * or last point; else it is marked to be read (readUnknownValues).
 */
function bucketPoints(row: M4Row, into: Plan): void {
  const { firstStep, lastStep } = row;
  // Between the first and last steps (which win a tie), the minimum, maximum and gap in step order;
  // of equal steps the earlier of the three is kept. (No closures here: this runs for every bucket.)
  let middle = 0;
  for (let candidate = 0; candidate < 3; candidate++) {
    const step = candidate === 0 ? row.minStep : candidate === 1 ? row.maxStep : row.gapStep;
    if (step <= firstStep || step >= lastStep) continue;
    let at = middle;
    let taken = false;
    for (let index = 0; index < middle; index++) if (middleSteps[index] === step) taken = true;
    if (taken) continue;
    for (; at > 0 && middleSteps[at - 1]! > step; at--) {
      middleSteps[at] = middleSteps[at - 1]!;
      middleValues[at] = middleValues[at - 1]!;
    }
    middleSteps[at] = step;
    middleValues[at] = candidate === 0 ? row.minValue : candidate === 1 ? row.maxValue : Number.NaN;
    middle++;
  }
  // At most four: with five distinct steps the first point goes (neither an extreme nor a gap).
  if (middle < 3 || lastStep === firstStep) pushBucketPoint(row, firstStep, row.firstValue, into);
  for (let index = 0; index < middle; index++) pushBucketPoint(row, middleSteps[index]!, middleValues[index]!, into);
  if (lastStep !== firstStep) pushBucketPoint(row, lastStep, row.lastValue, into);
}
const middleSteps = [0, 0, 0];
const middleValues = [0, 0, 0];

function pushBucketPoint(row: M4Row, step: number, value: number, into: Plan): void {
  const { firstStep, lastStep, gapStep } = row;
  let known = value;
  if (step === gapStep) {
    // A gap wins over the value logged at the same step (it is that value, non-finite), known at the bucket's first or last step.
    const atEdge = gapStep === firstStep ? row.firstValue : gapStep === lastStep ? row.lastValue : null;
    if (atEdge === null || Number.isFinite(atEdge)) {
      known = Number.NaN;
      into.unknown.push(into.kept.steps.length);
    } else known = atEdge;
  }
  into.kept.steps.push(step);
  into.kept.values.push(known);
}
