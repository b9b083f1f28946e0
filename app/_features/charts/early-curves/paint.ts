/**
 * The early chart (early-curves.ts): a script outside the Next.js bundle, loaded async by the compare
 * page, that draws each slot's curves as soon as the slot is parsed and the preloaded points arrive,
 * while the page's own scripts load. It shares the live chart's modules (datasets, options, colours),
 * never React's, and strokes the lines itself (fast-lines.ts).
 */
import { Chart, Filler, LinearScale, LineController, LineElement, LogarithmicScale, PointElement } from "chart.js";
import { colourByParam } from "../colour-by.ts";
import { type ChartRun, curveDatasets, runColor, visibleDatasets, X_FORMATS, X_LABELS } from "../curve-datasets.ts";
import { formatTick } from "../format.ts";
import { backgroundPlugin, isManySeries, lineChartOptions, lineWidth, type PlotDataset } from "../line-chart-config.ts";
import { seriesLine } from "../series-points.ts";
import { type SeriesResponse, sharedSeries } from "../series-request.ts";
import { EARLY_CURVES_ATTRIBUTE, type EarlyCurves, type EarlySlot } from "./early-curves.ts";
import {
  type FastLine,
  fastLinesPlugin,
  lineArrays,
  needsChartJs,
  rangePoints,
  xBoundsOf,
  yRangeOfLines,
} from "./fast-lines.ts";

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Filler);

async function paint(slot: EarlySlot): Promise<void> {
  const sent = JSON.parse(slot.getAttribute(EARLY_CURVES_ATTRIBUTE) ?? "null") as EarlyCurves | null;
  if (!sent) return;
  // Names only label the legend and tooltips, which the live chart draws.
  const view = { ...sent, runs: sent.runs.map((run) => ({ ...run, name: run.id })) };
  const [response] = await Promise.all([sharedSeries(view.request), stylesheetsLoaded(), shown(slot)]);
  // The page may have drawn its own chart meanwhile (and removed the slot).
  if (!slot.isConnected) return;
  const dark = document.documentElement.classList.contains("dark");
  const chart = plainRunLines(view, response, dark) ?? generalLines(view, response, dark);
  if (!chart?.lines.some((line) => line.xs.length > 0)) return;
  const { lines, markers } = chart;
  // Chart.js lays out the axes from the points that decide them (one transparent dataset) and draws the
  // NaN/infinity markers as they are; fast-lines.ts strokes every point of every line.
  const xBounds = xBoundsOf(view.xWindow, view.logX);
  const log = { x: view.logX, y: view.logY };
  const range: PlotDataset = {
    key: "range",
    role: "raw",
    seriesId: "range",
    data: lines.flatMap((line) => rangePoints(line, xBounds, log)).sort((a, b) => a.x - b.x),
    showLine: false,
    pointRadius: 0,
  };
  const series = String(lines.filter((line) => line.main && line.xs.length > 0).length);
  const colors = lines
    .filter((line) => line.main)
    .map((line) => line.color)
    .join(" ");
  // In a closed shadow root: the page's DOM (and whatever queries the panel's canvas) sees only the live chart.
  const canvas = document.createElement("canvas");
  slot.attachShadow({ mode: "closed" }).append(canvas);
  slot.scaleboardChart = new Chart(canvas, {
    type: "line",
    data: { datasets: [range, ...markers] },
    options: {
      ...lineChartOptions({
        datasets: [range, ...markers],
        dark,
        logX: view.logX,
        logY: view.logY,
        xTitle: X_LABELS[view.x],
        yTitle: view.metric,
        formatX: X_FORMATS[view.x],
        formatY: formatTick,
        xWindow: view.xWindow,
        onWindowChange: null,
        // The options' many-lines choices (tooltip axis, line width) and zoomed y range follow the lines drawn here.
        manySeries: Number(series) > 12,
        yWindow: view.xWindow ? yRangeOfLines(lines, view.xWindow, view.logY) : null,
      }),
      // Nothing to hover or click (the slot lets the pointer through): no listeners to bind.
      events: [],
    },
    plugins: [
      backgroundPlugin,
      fastLinesPlugin(lines),
      {
        // Marked as the live chart marks its canvas (line-chart-config.ts), on the slot, under data-early-*.
        id: "scaleboardEarlyMarks",
        afterDraw() {
          if (slot.dataset.earlySeries === series) return;
          slot.dataset.earlySeriesColors = colors;
          slot.dataset.earlySeries = series;
          slot.dataset.earlyDrawnAt = String(performance.now());
        },
      },
    ],
  });
}

type EarlyLine = FastLine & { main: boolean };
type EarlyView = Omit<EarlyCurves, "runs"> & { runs: ChartRun[] };

/**
 * The common chart, one line per run as logged (no smoothing, no groups, no NaN or infinity to mark),
 * straight from the answer's arrays, as curveDatasets would draw it: the same colours and order.
 * Making 100,000 point objects first, and reading them back, took most of the early chart's time.
 * Null for any other chart: the general path draws it.
 */
function plainRunLines(
  view: EarlyView,
  response: SeriesResponse,
  dark: boolean,
): { lines: EarlyLine[]; markers: PlotDataset[] } | null {
  if (view.smoothing > 0 || view.groupBy) return null;
  const colouring = view.colorBy ? colourByParam(view.colorBy, view.runs, dark) : null;
  const runs = new Map(view.runs.map((run, index) => [run.id, { run, index }]));
  const hidden = new Set(view.hidden);
  const lines: EarlyLine[] = [];
  for (const entry of response.series) {
    const known = runs.get(entry.runId);
    if (!known || hidden.has(entry.runId) || entry.xs.length === 0) continue;
    for (const value of entry.ys) if (typeof value !== "number") return null;
    if (entry.before && typeof entry.before.y !== "number") return null;
    if (entry.after && typeof entry.after.y !== "number") return null;
    // The answer's own arrays where the window has no neighbours outside it (any full-range chart).
    const { xs, ys } =
      entry.before || entry.after
        ? {
            xs: [...(entry.before ? [entry.before.x] : []), ...entry.xs, ...(entry.after ? [entry.after.x] : [])],
            ys: [...(entry.before ? [entry.before.y] : []), ...entry.ys, ...(entry.after ? [entry.after.y] : [])],
          }
        : entry;
    lines.push({ xs, ys, color: runColor(known.run, known.index, colouring, dark), width: 0, main: true });
  }
  // As the live chart's options make it (line-chart-config.ts): hairlines past a dozen lines.
  const width = lineWidth(lines.length > 12);
  return { lines: lines.map((line) => ({ ...line, width })), markers: [] };
}

/** Any other chart (smoothed, grouped, with NaN or infinity markers): curveDatasets' own datasets. */
function generalLines(
  view: EarlyView,
  response: SeriesResponse,
  dark: boolean,
): { lines: EarlyLine[]; markers: PlotDataset[] } | null {
  const { datasets } = curveDatasets({
    lines: response.series.map((entry) => ({ ...entry, points: seriesLine(entry) })),
    runs: view.runs,
    groupBy: view.groupBy,
    smoothing: view.smoothing,
    dark,
    colouring: view.colorBy ? colourByParam(view.colorBy, view.runs, dark) : null,
    missing: "",
  });
  const drawn = visibleDatasets(datasets, new Set(view.hidden), view.logX, view.logY);
  // Bands and point clouds (a group-by's) look as Chart.js draws them: the live chart will.
  if (drawn.some(needsChartJs)) return null;
  const width = lineWidth(isManySeries(drawn));
  return {
    lines: drawn
      .filter((dataset) => dataset.role !== "marker")
      .map((dataset) => ({
        ...lineArrays(dataset.data),
        color: String(dataset.borderColor),
        width: typeof dataset.borderWidth === "number" ? dataset.borderWidth : width,
        main: dataset.role === "main",
      })),
    markers: drawn.filter((dataset) => dataset.role === "marker"),
  };
}

/** The page's stylesheets, loaded: the panel's width (a grid column) comes from them. */
function stylesheetsLoaded(): Promise<unknown> {
  const pending = [...document.querySelectorAll<HTMLLinkElement>('link[rel="stylesheet"]')].filter(
    (link) => !link.sheet,
  );
  return Promise.all(
    pending.map(
      (link) =>
        new Promise((resolve) => {
          link.addEventListener("load", resolve, { once: true });
          link.addEventListener("error", resolve, { once: true });
        }),
    ),
  );
}

/**
 * Resolves once the slot is in the page's layout: a streamed part of the page arrives in a hidden
 * element first, and React's own inline script moves it into place.
 */
function shown(slot: Element): Promise<void> {
  if (!slot.closest("[hidden]")) return Promise.resolve();
  return new Promise((resolve) => {
    const watch = new MutationObserver(() => {
      if (slot.closest("[hidden]")) return;
      watch.disconnect();
      resolve();
    });
    watch.observe(document.body, { childList: true, subtree: true });
  });
}

/** Lets Next.js start (app/layout.tsx holds it while this draws), after the frame that shows the chart. */
function releaseHydration(): void {
  const page = window as Window & { scaleboardReleaseHydration?: () => void };
  requestAnimationFrame(() => setTimeout(() => page.scaleboardReleaseHydration?.()));
}

let started = false;

/** Paints every slot once; false while there is none yet. */
function paintAll(): boolean {
  if (started) return true;
  const slots = [...document.querySelectorAll<EarlySlot>(`[${EARLY_CURVES_ATTRIBUTE}]`)];
  if (slots.length === 0) return false;
  started = true;
  Promise.allSettled(slots.map((slot) => paint(slot))).then(releaseHydration);
  return true;
}

// Loaded async, this may run before the parser has reached the slot: then as soon as it has.
if (!paintAll()) {
  if (document.readyState === "loading") {
    const watch = new MutationObserver(() => {
      if (paintAll()) watch.disconnect();
    });
    watch.observe(document.documentElement, { childList: true, subtree: true });
    document.addEventListener(
      "DOMContentLoaded",
      () => {
        watch.disconnect();
        if (!paintAll()) releaseHydration();
      },
      { once: true },
    );
  } else releaseHydration();
}
