import type { Chart, ChartDataset, ChartOptions, Plugin, PointElement, TooltipItem } from "chart.js";
import { chartTheme } from "./chart-theme.ts";
import { tickLabel } from "./log-ticks.ts";
import type { XY } from "./smoothing.ts";

/**
 * What a dataset is: the line a legend entry names, or a faint raw curve or band edge behind it, or
 * the markers of a line's NaN and infinite values (series-points.ts), on the hidden `edge` axis.
 */
export type DatasetRole = "main" | "raw" | "band-low" | "band-high" | "points" | "highlight" | "marker";

/** Datasets as drawn: the caller has already left out hidden series and values a log axis cannot place. */
export type PlotDataset = ChartDataset<"line", XY[]> & {
  /** Unique and stable across renders: react-chartjs-2 matches datasets by it. */
  key: string;
  role: DatasetRole;
  /** The legend entry (run or group) this dataset belongs to, hidden together with it. */
  seriesId: string;
  /** Extra tooltip lines per point index (e.g. "3 seeds, min 2.31, max 2.40"). */
  notes?: (string | null)[];
};

export type XWindow = { min: number; max: number };

/** Fills the canvas before drawing so a PNG export is not transparent (unreadable in dark viewers). */
export const backgroundPlugin: Plugin<"line"> = {
  id: "scaleboardBackground",
  beforeDraw(chart, _args, options: { color?: string }) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = "destination-over";
    ctx.fillStyle = options.color ?? "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

/**
 * What a drawn chart shows, as its canvas says it (data-series, data-series-colors, data-non-finite,
 * data-lines-in-view): lines a legend names with points; their colours, space-separated; NaN and
 * infinity markers shown; lines with a segment across the plot area (e.g. crossing a zoom window).
 * Browser tests and the dashboard bench read these, and data-drawn-at (performance.now() of the first
 * draw showing that many lines).
 */
export type DrawnMarks = { series: number; seriesColors: string; nonFinite: number; linesInView: number };

/** Marks the canvas (DOM attributes as above) after each draw. */
export function drawnMarkerPlugin(): Plugin<"line"> {
  return {
    id: "scaleboardDrawnMarker",
    afterDraw(chart) {
      const datasets = chart.data.datasets as PlotDataset[];
      const area = chart.chartArea;
      const marks: DrawnMarks = {
        series: datasets.filter((dataset) => dataset.role === "main" && dataset.data.length > 0).length,
        // The colours of the lines a legend names, in order: a reader (and a test) can tell them apart.
        seriesColors: datasets
          .filter((dataset) => dataset.role === "main")
          .map((dataset) => String(dataset.borderColor))
          .join(" "),
        nonFinite: datasets.reduce(
          (sum, dataset, index) =>
            dataset.role === "marker" && !chart.getDatasetMeta(index).hidden ? sum + dataset.data.length : sum,
          0,
        ),
        linesInView: datasets.filter((dataset, index) => {
          const meta = chart.getDatasetMeta(index);
          if (dataset.role !== "main" || meta.hidden) return false;
          // A line's elements are PointElements; a skipped one is a gap.
          const points = meta.data as PointElement[];
          return points.some((point, at) => {
            const previous = points[at - 1];
            if (!previous || point.skip || previous.skip) return false;
            // The segment clipped to the plot's width must reach into its height.
            const left = Math.max(area.left, Math.min(previous.x, point.x));
            const right = Math.min(area.right, Math.max(previous.x, point.x));
            if (left > right) return false;
            const yAt = (x: number) =>
              point.x === previous.x
                ? point.y
                : previous.y + ((point.y - previous.y) * (x - previous.x)) / (point.x - previous.x);
            return Math.max(yAt(left), yAt(right)) >= area.top && Math.min(yAt(left), yAt(right)) <= area.bottom;
          });
        }).length,
      };
      const canvas = chart.canvas;
      canvas.dataset.seriesColors = marks.seriesColors;
      canvas.dataset.nonFinite = String(marks.nonFinite);
      canvas.dataset.linesInView = String(marks.linesInView);
      if (canvas.dataset.series === String(marks.series)) return;
      canvas.dataset.series = String(marks.series);
      canvas.dataset.drawnAt = String(performance.now());
    },
  };
}

/**
 * The y range the lines take inside an x window: their points in it and, where a segment crosses an
 * edge, its value there (linear in x). Null when no line reaches the window.
 */
export function yRangeIn(datasets: readonly PlotDataset[], window: XWindow, logY: boolean): XWindow | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const include = (y: number) => {
    if (!Number.isFinite(y) || (logY && y <= 0)) return;
    min = Math.min(min, y);
    max = Math.max(max, y);
  };
  for (const dataset of datasets) {
    if (dataset.role === "marker") continue;
    const points = dataset.data;
    points.forEach((point, index) => {
      if (point.y === null) return;
      if (point.x >= window.min && point.x <= window.max) include(point.y);
      const next = points[index + 1];
      if (!next || next.y === null || next.x === point.x) return;
      for (const edge of [window.min, window.max])
        if ((point.x - edge) * (next.x - edge) < 0)
          include(point.y + ((next.y - point.y) * (edge - point.x)) / (next.x - point.x));
    });
  }
  return min <= max ? { min, max } : null;
}

/** The width of a chart's lines where a dataset sets none: see lineChartOptions. */
export function lineWidth(manySeries: boolean): number {
  return manySeries ? 1 : 1.5;
}

/** More than a dozen named lines (or point clouds): the tooltip and line width change for a crowd. */
export function isManySeries(datasets: readonly PlotDataset[]): boolean {
  return datasets.filter((dataset) => dataset.role === "main" || dataset.role === "points").length > 12;
}

export type LineChartView = {
  datasets: readonly PlotDataset[];
  dark: boolean;
  logX: boolean;
  logY: boolean;
  xTitle: string;
  yTitle: string;
  formatX: (value: number) => string;
  formatY: (value: number) => string;
  xWindow: XWindow | null;
  /** Called after a wheel, drag or pinch zoom or a pan with the chart; null turns zooming off. */
  onWindowChange: ((window: XWindow) => void) | null;
  /** For a chart whose lines are not among `datasets` (the early chart): how many lines there are... */
  manySeries?: boolean;
  /** ...and the y range they take inside xWindow (as yRangeIn finds it). */
  yWindow?: XWindow | null;
};

/**
 * Chart.js options of a curves chart: the same for the live chart (line-canvas.tsx) and the one drawn
 * before the page hydrates (early-curves/paint.ts), so that one replaces the other without a visible change.
 */
export function lineChartOptions(view: LineChartView): ChartOptions<"line"> {
  const { datasets, dark, logX, logY, xTitle, yTitle, formatX, formatY, xWindow, onWindowChange } = view;
  const theme = chartTheme(dark);
  const yWindow = view.yWindow !== undefined ? view.yWindow : xWindow ? yRangeIn(datasets, xWindow, logY) : null;
  const manySeries = view.manySeries ?? isManySeries(datasets);
  const reportWindow = ({ chart }: { chart: Chart }) => {
    const scale = chart.scales.x;
    if (scale) onWindowChange?.({ min: scale.min, max: scale.max });
  };
  return {
    animation: false,
    parsing: false,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    spanGaps: false,
    // Runs logged at the same x all tie on x distance; with many of them, the tooltip names the nearest in both axes.
    interaction: { mode: "nearest", axis: manySeries ? "xy" : "x", intersect: false },
    // Past a dozen lines, hairlines: they stay apart where thicker ones merge into a band, and a browser
    // rasterises them about four times as fast (100 lines x 1,000 points: 28 ms against 118-139 ms).
    elements: { point: { radius: 0, hoverRadius: 3 }, line: { borderWidth: lineWidth(manySeries) } },
    scales: {
      x: {
        type: logX ? "logarithmic" : "linear",
        min: xWindow && (!logX || xWindow.min > 0) ? xWindow.min : undefined,
        max: xWindow ? xWindow.max : undefined,
        title: { display: true, text: xTitle, color: theme.muted },
        ticks: { color: theme.muted, maxRotation: 0, autoSkipPadding: 12, callback: tickLabel(formatX, logX) },
        grid: { color: theme.grid },
        border: { color: theme.grid },
      },
      y: {
        type: logY ? "logarithmic" : "linear",
        // Chart.js scales y to the points inside the x range; a line crossing a zoom window from points beyond it counts too.
        ...(yWindow ? { suggestedMin: yWindow.min, suggestedMax: yWindow.max } : {}),
        title: { display: true, text: yTitle, color: theme.muted },
        ticks: { color: theme.muted, callback: tickLabel(formatY, logY) },
        grid: { color: theme.grid },
        border: { color: theme.grid },
      },
      // Where non-finite markers sit: 1 the plot's top edge, 0 its bottom, whatever the y axis shows.
      // Hidden, yet Chart.js labels its ticks: without a callback it formats them with Intl.NumberFormat,
      // whose first use in a page costs tens of ms.
      edge: { axis: "y", type: "linear", display: false, min: -0.03, max: 1.03, ticks: { callback: () => "" } },
    },
    plugins: {
      legend: { display: false },
      tooltip: {
        filter: (item: TooltipItem<"line">) => {
          const role = (item.dataset as PlotDataset).role;
          return role === "main" || role === "points" || role === "highlight" || role === "marker";
        },
        itemSort: (a, b) => (a.parsed.y ?? 0) - (b.parsed.y ?? 0),
        callbacks: {
          title: (items) => (items[0] ? `${xTitle} ${formatX(items[0].parsed.x ?? 0)}` : ""),
          label: (item) => {
            const dataset = item.dataset as PlotDataset;
            const point = item.raw as XY;
            const note = dataset.notes?.[item.dataIndex];
            const value =
              point.value === undefined ? formatY(item.parsed.y ?? Number.NaN) : point.value.replace(/^Inf/, "+Inf");
            const notes = [note, point.interpolated ? `${xTitle} interpolated` : null].filter(Boolean);
            return `${dataset.label ?? ""}: ${value}${notes.length ? ` (${notes.join("; ")})` : ""}`;
          },
        },
      },
      zoom: {
        zoom: {
          mode: "x",
          wheel: { enabled: Boolean(onWindowChange), modifierKey: "ctrl" },
          drag: {
            enabled: Boolean(onWindowChange),
            threshold: 8,
            backgroundColor: dark ? "rgba(165,180,252,0.15)" : "rgba(79,70,229,0.12)",
          },
          pinch: { enabled: Boolean(onWindowChange) },
          onZoomComplete: reportWindow,
        },
        pan: { enabled: Boolean(onWindowChange), mode: "x", modifierKey: "shift", onPanComplete: reportWindow },
      },
      // @ts-expect-error: the inline background plugin's options are not in Chart.js's registry types.
      scaleboardBackground: { color: theme.background },
    },
  };
}
