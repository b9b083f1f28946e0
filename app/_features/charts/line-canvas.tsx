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
  type Plugin,
} from "chart.js";
import zoomPlugin from "chartjs-plugin-zoom";
import { useEffect, useMemo, useRef, type RefObject } from "react";
import { Line } from "react-chartjs-2";
import {
  backgroundPlugin,
  drawnMarkerPlugin,
  type LineChartView,
  lineChartOptions,
  type PlotDataset,
  type XWindow,
} from "./line-chart-config.ts";
import type { XY } from "./smoothing.ts";

export type { DatasetRole, PlotDataset, XWindow } from "./line-chart-config.ts";

ChartJS.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Filler, zoomPlugin);

export type ChartController = {
  /** A PNG of the chart as drawn, on the theme's background. */
  toPng: () => string | null;
  /** The x range shown right now. */
  xRange: () => XWindow | null;
};

export type LineCanvasProps = Omit<LineChartView, "datasets" | "onWindowChange" | "manySeries" | "yWindow"> & {
  datasets: PlotDataset[];
  /** Called after a wheel, drag or pinch zoom or a pan, with the new x range. */
  onWindowChange?: (window: XWindow) => void;
  controller: RefObject<ChartController | null>;
  ariaLabel: string;
  height?: number;
  /** Called once, after the first draw with points (the compare page then removes its early chart). */
  onFirstDraw?: () => void;
};

/** Calls back once after the first draw that shows any dataset's points. */
function firstDrawPlugin(onFirstDraw: (() => void) | undefined): Plugin<"line"> {
  let called = false;
  return {
    id: "scaleboardFirstDraw",
    afterDraw(chart) {
      if (called || !onFirstDraw || !chart.data.datasets.some((dataset) => dataset.data.length > 0)) return;
      called = true;
      onFirstDraw();
    },
  };
}

export default function LineCanvas(props: LineCanvasProps) {
  const {
    datasets,
    dark,
    logX,
    logY,
    xTitle,
    yTitle,
    formatX,
    formatY,
    xWindow,
    onWindowChange,
    controller,
    ariaLabel,
    height = 320,
    onFirstDraw,
  } = props;
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

  // The ref keeps the options stable while the parent passes a new callback each render.
  const zoomable = Boolean(onWindowChange);
  const options = useMemo(
    () =>
      lineChartOptions({
        datasets,
        dark,
        logX,
        logY,
        xTitle,
        yTitle,
        formatX,
        formatY,
        xWindow,
        onWindowChange: zoomable ? (window) => windowChange.current?.(window) : null,
      }),
    [datasets, dark, logX, logY, xTitle, yTitle, formatX, formatY, xWindow, zoomable],
  );
  const plugins = useMemo(() => [backgroundPlugin, drawnMarkerPlugin(), firstDrawPlugin(onFirstDraw)], [onFirstDraw]);

  return (
    <div style={{ height }} className="relative">
      <Line
        ref={chartRef}
        datasetIdKey="key"
        data={{ datasets }}
        options={options}
        plugins={plugins}
        role="img"
        aria-label={ariaLabel}
        fallbackContent={<p>{ariaLabel}</p>}
      />
    </div>
  );
}
