/**
 * The early chart (early-curves.ts): a script outside the Next.js bundle, loaded async by the compare
 * page, that draws each slot's curves as soon as the slot is parsed and the preloaded points arrive,
 * while the page's own scripts load. It shares the live chart's modules (datasets, options, colours),
 * never React's, and strokes the lines itself (fast-lines.ts).
 */
import { Chart, Filler, LinearScale, LineController, LineElement, LogarithmicScale, PointElement } from "chart.js";
import { colourByParam } from "../colour-by.ts";
import { curveDatasets, visibleDatasets, X_FORMATS, X_LABELS } from "../curve-datasets.ts";
import { formatTick } from "../format.ts";
import { backgroundPlugin, isManySeries, lineChartOptions, lineWidth, type PlotDataset } from "../line-chart-config.ts";
import { seriesLine } from "../series-points.ts";
import { sharedSeries } from "../series-request.ts";
import { EARLY_CURVES_ATTRIBUTE, type EarlyCurves, type EarlySlot } from "./early-curves.ts";
import { type FastLine, fastLinesPlugin, lineArrays, needsChartJs, rangePoints, xBoundsOf } from "./fast-lines.ts";

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Filler);

async function paint(slot: EarlySlot): Promise<void> {
  const view = JSON.parse(slot.getAttribute(EARLY_CURVES_ATTRIBUTE) ?? "null") as EarlyCurves | null;
  if (!view) return;
  const [response] = await Promise.all([sharedSeries(view.request), stylesheetsLoaded(), shown(slot)]);
  // The page may have drawn its own chart meanwhile (and removed the slot).
  if (!slot.isConnected) return;
  const dark = document.documentElement.classList.contains("dark");
  const lines = response.series.map((entry) => ({ ...entry, points: seriesLine(entry) }));
  const { datasets } = curveDatasets({
    lines,
    runs: view.runs,
    groupBy: view.groupBy,
    smoothing: view.smoothing,
    dark,
    colouring: view.colorBy ? colourByParam(view.colorBy, view.runs, dark) : null,
    missing: "",
  });
  const drawn = visibleDatasets(datasets, new Set(view.hidden), view.logX, view.logY);
  // Bands and point clouds (a group-by) look as Chart.js draws them: the live chart will.
  if (!drawn.some((dataset) => dataset.data.length > 0) || drawn.some(needsChartJs)) return;
  const xBounds = xBoundsOf(view.xWindow, view.logX);
  // Chart.js lays out the axes from the points that decide them (one transparent dataset) and draws the
  // NaN/infinity markers as they are; fast-lines.ts strokes every point of every line.
  const lineDatasets = drawn.filter((dataset) => dataset.role !== "marker");
  const range: PlotDataset = {
    key: "range",
    role: "raw",
    seriesId: "range",
    data: lineDatasets.flatMap((dataset) => rangePoints(dataset.data, xBounds)).sort((a, b) => a.x - b.x),
    showLine: false,
    pointRadius: 0,
  };
  const width = lineWidth(isManySeries(drawn));
  // A run's own line (not smoothed, not a group's) straight from the answer's arrays: reading 100,000
  // freshly made point objects cost ten times as much.
  const answers = new Map(response.series.map((entry) => [entry.runId, entry]));
  const fast: FastLine[] = lineDatasets.map((dataset) => {
    const entry =
      dataset.role === "main" && view.smoothing === 0 && !view.groupBy ? answers.get(dataset.seriesId) : null;
    return {
      ...(entry && !entry.before && !entry.after ? { xs: entry.xs, ys: entry.ys } : lineArrays(dataset.data)),
      color: String(dataset.borderColor),
      width: typeof dataset.borderWidth === "number" ? dataset.borderWidth : width,
    };
  });
  const main = drawn.filter((dataset) => dataset.role === "main");
  const series = String(main.filter((dataset) => dataset.data.length > 0).length);
  // In a closed shadow root: the page's DOM (and whatever queries the panel's canvas) sees only the live chart.
  const canvas = document.createElement("canvas");
  slot.attachShadow({ mode: "closed" }).append(canvas);
  slot.scaleboardChart = new Chart(canvas, {
    type: "line",
    data: { datasets: [range, ...drawn.filter((dataset) => dataset.role === "marker")] },
    options: lineChartOptions({
      datasets: drawn,
      dark,
      logX: view.logX,
      logY: view.logY,
      xTitle: X_LABELS[view.x],
      yTitle: view.metric,
      formatX: X_FORMATS[view.x],
      formatY: formatTick,
      xWindow: view.xWindow,
      onWindowChange: null,
    }),
    plugins: [
      backgroundPlugin,
      fastLinesPlugin(fast),
      {
        // Marked as the live chart marks its canvas (line-chart-config.ts), on the slot, under data-early-*.
        id: "scaleboardEarlyMarks",
        afterDraw() {
          if (slot.dataset.earlySeries === series) return;
          slot.dataset.earlySeriesColors = main.map((dataset) => String(dataset.borderColor)).join(" ");
          slot.dataset.earlySeries = series;
          slot.dataset.earlyDrawnAt = String(performance.now());
        },
      },
    ],
  });
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
