import type { PackedSeries } from "~/server/domain/metrics/pack-series.ts";
import { smoothingWeight } from "~/server/domain/metrics/ema.ts";
import type { ChartLegendEntry } from "./chart-legend.tsx";
import { seriesColor, withAlpha } from "./chart-theme.ts";
import type { RunColouring } from "./colour-by.ts";
import { formatCount, formatDuration, formatFlops } from "./format.ts";
import type { PlotDataset } from "./line-chart-config.ts";
import { groupedDatasets, groupLabel } from "./run-groups.ts";
import { nonFiniteMarkers } from "./series-points.ts";
import type { XAxis } from "./series-request.ts";
import { smoothEma, type XY } from "./smoothing.ts";

/**
 * What a curves chart draws from metrics.series' answer: one line per run (or per group), in the
 * run's colour, smoothed as asked, and the legend that names them. Pure, so that the live chart
 * (curves-panel.tsx) and the one drawn before the page hydrates (early-curves/paint.ts) draw the same.
 */

export type ChartRun = { id: string; name: string; params: Record<string, unknown> };

/** A run's answer with its points as Chart.js takes them (seriesLine). */
export type CurveLine = PackedSeries & { points: XY[] };

export const X_LABELS: Record<XAxis, string> = {
  step: "step",
  wallclock: "wall-clock (s)",
  flops: "FLOPs",
  samples: "samples",
  tokens: "tokens",
  "time/train_seconds": "training time (s)",
};
export const X_FORMATS: Record<XAxis, (value: number) => string> = {
  step: (value) => formatCount(value, 4),
  wallclock: formatDuration,
  flops: formatFlops,
  samples: (value) => formatCount(value),
  tokens: (value) => formatCount(value),
  "time/train_seconds": formatDuration,
};

/** What the legend says of a run (or group) without a point of the metric here. */
export function missingPointsText(zoomed: boolean, x: XAxis, metric: string | null): string {
  return zoomed ? "no points in this range" : x === "step" ? `no ${metric}` : `no ${metric} against ${X_LABELS[x]}`;
}

export type CurveChoices = {
  lines: readonly CurveLine[];
  /** The runs plotted, in the order that gives each its colour. */
  runs: readonly ChartRun[];
  groupBy: string | null;
  smoothing: number;
  dark: boolean;
  colouring: RunColouring | null;
  /** The legend's note for a run without points (missingPointsText). */
  missing: string;
};

/** A run's line colour: by the chosen parameter, else the palette's colour of its place among the runs. */
export function runColor(run: ChartRun, index: number, colouring: RunColouring | null, dark: boolean): string {
  return colouring ? colouring.colorOf(run.params) : seriesColor(index, dark);
}

export function curveDatasets({ lines, runs, groupBy, smoothing, dark, colouring, missing }: CurveChoices): {
  datasets: PlotDataset[];
  legend: ChartLegendEntry[];
} {
  const runById = new Map(runs.map((run, index) => [run.id, { run, index }]));
  const datasets: PlotDataset[] = [];
  const legend: ChartLegendEntry[] = [];
  const rows = lines.filter((entry) => runById.has(entry.runId));
  if (!groupBy) {
    for (const entry of rows) {
      const { run, index } = runById.get(entry.runId)!;
      const color = runColor(run, index, colouring, dark);
      // A run with no point says why in the legend and draws nothing.
      if (entry.points.length === 0) {
        legend.push({ seriesId: run.id, label: run.name, color, missing: missing });
        continue;
      }
      legend.push({ seriesId: run.id, label: run.name, color });
      const raw: XY[] = entry.points;
      const markers = nonFiniteMarkers(raw, { key: run.id, seriesId: run.id, label: run.name, color });
      if (markers) datasets.push(markers);
      // Zoomed, the EMA continues from the points before the window (when computed for this weight).
      const start = entry.ema && entry.ema.weight === smoothingWeight(smoothing) ? entry.ema : undefined;
      if (smoothing > 0) {
        datasets.push({
          key: `${run.id}:raw`,
          role: "raw",
          seriesId: run.id,
          label: `${run.name} (raw)`,
          data: raw,
          borderColor: withAlpha(color, 0.28),
          borderWidth: 1,
        });
      }
      datasets.push({
        key: run.id,
        role: "main",
        seriesId: run.id,
        label: run.name,
        data: smoothing > 0 ? smoothEma(raw, smoothing, start) : raw,
        borderColor: color,
        backgroundColor: color,
      });
    }
    return { datasets, legend };
  }
  const members = rows.map((entry) => ({
    group: groupLabel(groupBy, runById.get(entry.runId)!.run.params[groupBy]),
    points: entry.points,
    ...(entry.ema && entry.ema.weight === smoothingWeight(smoothing) ? { start: entry.ema } : {}),
  }));
  return groupedDatasets(members, { smoothing, dark, missing });
}

/** What is drawn (and exported): hidden series left out, values a log axis cannot place as gaps. */
export function visibleDatasets(
  datasets: readonly PlotDataset[],
  hidden: ReadonlySet<string>,
  logX: boolean,
  logY: boolean,
): PlotDataset[] {
  return datasets
    .filter((dataset) => !hidden.has(dataset.seriesId))
    .map((dataset) =>
      logX || logY
        ? {
            ...dataset,
            data: dataset.data.map((point) =>
              (logX && point.x <= 0) || (logY && point.y !== null && point.y <= 0 && dataset.role !== "marker")
                ? { ...point, y: null }
                : point,
            ),
          }
        : dataset,
    );
}
