import type { PackedSeries } from "~/server/domain/metrics/pack-series.ts";
import { readEnum, readList, readNumber } from "./url-read.ts";

/** The x axes a curves panel offers. */
export const X_AXES = ["step", "wallclock", "time/train_seconds", "flops", "samples", "tokens"] as const;
export type XAxis = (typeof X_AXES)[number];
/** The most runs one chart asks for (metrics.series takes 200) and the points per run. */
export const MAX_CHART_RUNS = 200;
export const POINTS_PER_RUN = 1000;

/**
 * A page's first curves can come from GET /api/metrics/series (app/api/metrics/series/route.ts):
 * the same answer as metrics.series as plain JSON, at a URL the server-rendered page names, so the
 * points load while the page's JavaScript does: in a worker its head starts (early-curves/series-starter.ts),
 * or by a preload <link> where there is no worker script. Later requests (zoom, live refresh) go through
 * metrics.series as usual.
 */
export type SeriesRequest = {
  runIds: string[];
  key: string;
  x: string;
  points: number;
  xMin?: number;
  xMax?: number;
  /** The EMA weight, sent only with a window: the answer carries the EMA state at its start. */
  smoothing?: number;
};
export type SeriesResponse = { series: PackedSeries[] };

export function seriesUrl(request: SeriesRequest): string {
  const params = new URLSearchParams({
    runs: request.runIds.join(","),
    key: request.key,
    x: request.x,
    points: String(request.points),
  });
  if (request.xMin !== undefined) params.set("xmin", String(request.xMin));
  if (request.xMax !== undefined) params.set("xmax", String(request.xMax));
  if (request.smoothing !== undefined) params.set("smoothing", String(request.smoothing));
  return `/api/metrics/series?${params.toString()}`;
}

/**
 * The page's first answers, one fetch per URL however many ask: the chart drawn before the page
 * hydrates (early-curves/paint.ts, a separate script) and then the curves panel. On `window`, which
 * both scripts share.
 */
function sharedAnswers(): Map<string, Promise<SeriesResponse>> {
  const page = window as Window & { scaleboardSeries?: Map<string, Promise<SeriesResponse>> };
  page.scaleboardSeries ??= new Map();
  return page.scaleboardSeries;
}

function preloadLink(url: string): HTMLLinkElement | undefined {
  return [...document.querySelectorAll<HTMLLinkElement>('link[rel="preload"][as="fetch"]')].find(
    (candidate) => candidate.getAttribute("href") === url,
  );
}

/** The answer for this request, fetched once for the page (the preloaded one where the page preloads it). */
export function sharedSeries(request: SeriesRequest): Promise<SeriesResponse> {
  const answers = sharedAnswers();
  const url = seriesUrl(request);
  const known = answers.get(url);
  if (known) return known;
  const response = fetchSeries(request);
  answers.set(url, response);
  // A failed answer is not kept: the next asker tries again.
  response.catch(() => answers.delete(url));
  return response;
}

const taken = new Set<string>();

/**
 * The answer the page loaded early for this request (the head's worker's, a <link rel="preload"
 * as="fetch"> with its URL, or the one the early chart fetched), once per URL; null when there is none or it was used: the caller
 * asks metrics.series.
 */
export function takePreloadedSeries(request: SeriesRequest): Promise<SeriesResponse> | null {
  if (typeof document === "undefined") return null;
  const url = seriesUrl(request);
  if (taken.has(url)) return null;
  taken.add(url);
  return sharedAnswers().has(url) || preloadLink(url) ? sharedSeries(request) : null;
}

/** Fetches the points; a refused request throws its message (the server names the field or the run). */
export function fetchSeries(request: SeriesRequest, signal?: AbortSignal): Promise<SeriesResponse> {
  return fetchSeriesAt(seriesUrl(request), signal);
}

/** fetchSeries for a URL seriesUrl made (the series worker gets it as one, absolute). */
export async function fetchSeriesAt(url: string, signal?: AbortSignal): Promise<SeriesResponse> {
  // Same mode and credentials as the page's <link rel="preload" as="fetch" crossorigin>, so the browser hands over the preloaded answer.
  const response = await fetch(url, { signal, credentials: "same-origin" });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new Error(body?.error?.message ?? `The server answered ${response.status}`);
  }
  return (await response.json()) as SeriesResponse;
}

/**
 * The metric a curves panel shows when the URL names none: once the logged keys are known, the
 * runs' own metric (a spec's or project's) where logged, else val/loss, train/loss, or the first key
 * that is not an x axis or the learning rate; before then, the runs' own. The compare page's server
 * render resolves it the same way, so its first request is the panel's.
 */
export function defaultCurvesMetric(
  runsMetric: string | undefined,
  loggedKeys: readonly string[] | null,
): string | null {
  if (loggedKeys === null) return runsMetric ?? null;
  return (
    [runsMetric, "val/loss", "train/loss"].find((candidate) => candidate && loggedKeys.includes(candidate)) ??
    loggedKeys.find((candidate) => !(["lr", ...X_AXES] as string[]).includes(candidate)) ??
    runsMetric ??
    null
  );
}

/**
 * The first request the compare page's curves panel makes for a query string (its default metric:
 * the runs' own, as the runs table resolved it, until the logged keys are known), or null when it
 * makes none: the page preloads it.
 */
export function compareSeriesRequest(
  params: { get(key: string): string | null },
  defaultMetric = "val/loss",
): SeriesRequest | null {
  const runIds = [...new Set(readList(params, "runs"))].slice(0, MAX_CHART_RUNS);
  const key = params.get("metric") ?? defaultMetric;
  if (runIds.length === 0 || key === "") return null;
  const xMin = readNumber(params, "xmin");
  const xMax = readNumber(params, "xmax");
  const zoomed = xMin !== null && xMax !== null && xMin < xMax;
  // As curves-panel.tsx asks: the settled smoothing weight, only with a window.
  const smoothing = Math.min(0.99, Math.max(0, readNumber(params, "smooth") ?? 0));
  return {
    runIds,
    key,
    x: readEnum(params, "x", X_AXES, "step"),
    points: POINTS_PER_RUN,
    ...(zoomed ? { xMin, xMax } : {}),
    ...(zoomed && smoothing > 0 ? { smoothing } : {}),
  };
}
