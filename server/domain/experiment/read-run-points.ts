import type { Db } from "../../db.ts";
import type { ChartValue } from "../metrics/chart-value.ts";
import { querySeries, SERIES_POINTS_MAX } from "../metrics/query-series.ts";

/** JSON has no NaN or infinities: they travel as these strings, as the logging API takes them (chart-value.ts). */
export type PointValue = ChartValue;

/** Points per answer when they come back as logged; `nextFromStep` continues the list. */
export const POINTS_PAGE = SERIES_POINTS_MAX;
/** Windows tried to fit a page as logged (bisection over int4 steps needs at most 32). */
const MAX_PROBES = 33;

export type RunPoints = {
  runId: string;
  key: string;
  points: { step: number; value: PointValue }[];
  /** Points of `key` logged in the window answered. */
  total: number;
  /** True when `maxPoints` was smaller than the window's points and min/max-preserving buckets were kept. */
  downsampled: boolean;
  /** As logged but the window held more than a page: the next request's fromStep; null when complete. */
  nextFromStep: number | null;
};

/**
 * A run's points of one key, through the same query as the charts (server/domain/metrics/query-series.ts):
 * - with `maxPoints`: the window as logged when it holds at most that many, else min/max-preserving
 *   buckets (first, last, smallest, largest and first non-finite point of each), every one a logged point;
 * - without: the window as logged, a page (POINTS_PAGE) at a time; when it holds more, the first
 *   page comes back with `nextFromStep`, found by narrowing the window until its points fit.
 * The caller has checked that the actor may read the run.
 */
export async function readRunPoints(
  db: Db,
  runId: string,
  query: { key: string; fromStep?: number; toStep?: number; maxPoints?: number },
): Promise<RunPoints> {
  const ask = (from: number | undefined, to: number | undefined, points: number) =>
    querySeries(db, { runIds: [runId], key: query.key, xMin: from, xMax: to, points }).then(({ series }) => series[0]!);
  const answer = (series: Awaited<ReturnType<typeof ask>>, nextFromStep: number | null): RunPoints => ({
    runId,
    key: query.key,
    points: series.points.map((point) => ({ step: point.x, value: point.y })),
    total: series.total,
    downsampled: series.downsampled,
    nextFromStep,
  });

  const first = await ask(query.fromStep, query.toStep, query.maxPoints ?? POINTS_PAGE);
  if (query.maxPoints !== undefined || !first.downsampled) return answer(first, null);

  // More than a page as logged: find the longest window from `from` whose points fit a page. The
  // first probe assumes even density; then bisection on the window's end, whose counts (`total`)
  // every answer carries: at most MAX_PROBES queries, each bounded by the page.
  const from = query.fromStep ?? 0;
  const last = first.points.at(-1)?.x ?? from;
  const start = Math.max(from, first.points[0]?.x ?? from);
  let fits = from - 1;
  let overflows = last;
  let best: Awaited<ReturnType<typeof ask>> | null = null;
  let probe = Math.min(last - 1, start + Math.max(0, Math.floor(((last - start + 1) * POINTS_PAGE) / first.total) - 1));
  for (let tries = 0; tries < MAX_PROBES && overflows - fits > 1; tries++) {
    probe = Math.max(fits + 1, Math.min(overflows - 1, probe));
    const page = await ask(from, probe, POINTS_PAGE);
    if (page.downsampled) overflows = probe;
    else {
      best = page;
      fits = probe;
      if (page.total >= POINTS_PAGE / 2) break;
    }
    probe = fits + Math.floor((overflows - fits) / 2);
  }
  // A one-step window holds one point, so the search always ends with a page that fits.
  if (!best) return answer(first, null);
  return answer(best, fits < last ? fits + 1 : null);
}
