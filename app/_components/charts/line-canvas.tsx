"use client";

// Loaded only in the browser (next/dynamic with ssr: false): chartjs-plugin-zoom pulls in
// hammerjs, which touches `window` when imported.
import {
  Chart as ChartJS,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type Plugin,
  type TooltipItem,
} from "chart.js";
import zoomPlugin from "chartjs-plugin-zoom";
import { useEffect, useMemo, useRef, type RefObject } from "react";
import { Line } from "react-chartjs-2";
import { chartTheme } from "./chart-theme.ts";
import type { XY } from "./smoothing.ts";

ChartJS.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Filler, zoomPlugin);

/** What a dataset is: the line a legend entry names, or a faint raw curve or band edge behind it. */
export type DatasetRole = "main" | "raw" | "band-low" | "band-high" | "points" | "highlight";

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

export type ChartController = {
  /** A PNG of the chart as drawn, on the theme's background. */
  toPng: () => string | null;
  /** The x range shown right now. */
  xRange: () => XWindow | null;
};

export type LineCanvasProps = {
  datasets: PlotDataset[];
  dark: boolean;
  logX: boolean;
  logY: boolean;
  xTitle: string;
  yTitle: string;
  formatX: (value: number) => string;
  formatY: (value: number) => string;
  /** Shown x range (zoomed); null for the data's own extent. */
  xWindow: XWindow | null;
  /** Called after a wheel, drag or pinch zoom or a pan, with the new x range. */
  onWindowChange?: (window: XWindow) => void;
  controller: RefObject<ChartController | null>;
  ariaLabel: string;
  height?: number;
};

/** Fills the canvas before drawing so a PNG export is not transparent (unreadable in dark viewers). */
const backgroundPlugin: Plugin<"line"> = {
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

function isNiceLogTick(value: number): boolean {
  if (!(value > 0)) return false;
  const mantissa = value / 10 ** Math.floor(Math.log10(value) + 1e-9);
  return [1, 2, 5].some((nice) => Math.abs(mantissa - nice) < 1e-6);
}

/**
 * Log axes get a tick per 1-9 multiple of each decade; labelling all of them overprints. Label the
 * 1, 2, 5 ones when at least two are in view; inside one decade, every k-th tick, about six labels.
 */
function tickLabel(format: (value: number) => string, log: boolean) {
  return (value: number | string, index: number, ticks: { value: number }[]) => {
    const number = Number(value);
    if (!log) return format(number);
    const nice = ticks.filter((tick) => isNiceLogTick(tick.value)).length;
    if (nice >= 2) return isNiceLogTick(number) ? format(number) : "";
    const every = Math.max(1, Math.ceil(ticks.length / 6));
    return index % every === 0 || index === ticks.length - 1 ? format(number) : "";
  };
}

/**
 * Marks the canvas once drawn: data-series (lines a legend names, with points) and data-drawn-at
 * (performance.now() of the first draw showing that many). Browser tests and the dashboard bench read these.
 */
const drawnMarkerPlugin: Plugin<"line"> = {
  id: "scaleboardDrawnMarker",
  afterDraw(chart) {
    const canvas = chart.canvas;
    const series = String(chart.data.datasets.filter((dataset) => (dataset as PlotDataset).role === "main" && dataset.data.length > 0).length);
    if (canvas.dataset.series === series) return;
    canvas.dataset.series = series;
    canvas.dataset.drawnAt = String(performance.now());
  },
};

export default function LineCanvas(props: LineCanvasProps) {
  const { datasets, dark, logX, logY, xTitle, yTitle, formatX, formatY, xWindow, onWindowChange, controller, ariaLabel, height = 320 } = props;
  const chartRef = useRef<ChartJS<"line", XY[]> | null>(null);
  const windowChange = useRef(onWindowChange);
  useEffect(() => {
    windowChange.current = onWindowChange;
  }, [onWindowChange]);

  useEffect(() => {
    controller.current = {
      toPng: () => chartRef.current?.toBase64Image("image/png", 1) ?? null,
      xRange: () => {
        const scale = chartRef.current?.scales.x;
        return scale ? { min: scale.min, max: scale.max } : null;
      },
    };
    return () => {
      controller.current = null;
    };
  }, [controller]);

  const theme = chartTheme(dark);

  const manySeries = datasets.filter((dataset) => dataset.role === "main" || dataset.role === "points").length > 12;
  const options = useMemo((): ChartOptions<"line"> => {
    const reportWindow = ({ chart }: { chart: ChartJS }) => {
      const scale = chart.scales.x;
      if (scale) windowChange.current?.({ min: scale.min, max: scale.max });
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
      elements: { point: { radius: 0, hoverRadius: 3 }, line: { borderWidth: 1.5 } },
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
          title: { display: true, text: yTitle, color: theme.muted },
          ticks: { color: theme.muted, callback: tickLabel(formatY, logY) },
          grid: { color: theme.grid },
          border: { color: theme.grid },
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          filter: (item: TooltipItem<"line">) => {
            const role = (item.dataset as PlotDataset).role;
            return role === "main" || role === "points" || role === "highlight";
          },
          itemSort: (a, b) => (a.parsed.y ?? 0) - (b.parsed.y ?? 0),
          callbacks: {
            title: (items) => (items[0] ? `${xTitle} ${formatX(items[0].parsed.x ?? 0)}` : ""),
            label: (item) => {
              const dataset = item.dataset as PlotDataset;
              const note = dataset.notes?.[item.dataIndex];
              return `${dataset.label ?? ""}: ${formatY(item.parsed.y ?? Number.NaN)}${note ? ` (${note})` : ""}`;
            },
          },
        },
        zoom: {
          zoom: {
            mode: "x",
            wheel: { enabled: Boolean(onWindowChange), modifierKey: "ctrl" },
            drag: { enabled: Boolean(onWindowChange), threshold: 8, backgroundColor: dark ? "rgba(165,180,252,0.15)" : "rgba(79,70,229,0.12)" },
            pinch: { enabled: Boolean(onWindowChange) },
            onZoomComplete: reportWindow,
          },
          pan: { enabled: Boolean(onWindowChange), mode: "x", modifierKey: "shift", onPanComplete: reportWindow },
        },
        // @ts-expect-error: the inline background plugin's options are not in Chart.js's registry types.
        scaleboardBackground: { color: theme.background },
      },
    };
  }, [logX, logY, xWindow, xTitle, yTitle, formatX, formatY, theme.muted, theme.grid, theme.background, dark, onWindowChange, manySeries]);

  return (
    <div style={{ height }} className="relative">
      <Line
        ref={chartRef}
        datasetIdKey="key"
        data={{ datasets }}
        options={options}
        plugins={[backgroundPlugin, drawnMarkerPlugin]}
        role="img"
        aria-label={ariaLabel}
        fallbackContent={<p>{ariaLabel}</p>}
      />
    </div>
  );
}
