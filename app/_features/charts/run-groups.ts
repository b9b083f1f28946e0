import type { ChartLegendEntry } from "./chart-legend.tsx";
import { seriesColor, withAlpha } from "./chart-theme.ts";
import { formatMetric, formatParam } from "./format.ts";
import type { EmaState } from "~/server/domain/metrics/ema.ts";
import type { PlotDataset } from "./line-canvas.tsx";
import { nonFiniteMarkers } from "./series-points.ts";
import { aggregateRuns, smoothEma, type XY } from "./smoothing.ts";

/** A group's name in the legend: "model.width=64". */
export function groupLabel(groupBy: string, value: unknown): string {
  return `${groupBy}=${formatParam(value)}`;
}

/**
 * Runs grouped by a parameter's value: per group one mean line and, where the group holds more than
 * one run (seeds of one setting), a min-max band around it. Groups are ordered by label, numbers by
 * value; each group's colour is its place in that order. The compare and experiment pages' curves
 * and a report's curves panel draw groups through this one function. A group none of whose runs has
 * a point says so in the legend (`missing`, e.g. "no val/loss"); a member's `start` is its EMA state
 * at a zoom window's start (smoothing.ts).
 */
export function groupedDatasets(
  members: readonly { group: string; points: XY[]; start?: EmaState }[],
  options: { smoothing: number; dark: boolean; missing?: string },
): { datasets: PlotDataset[]; legend: ChartLegendEntry[] } {
  const { smoothing, dark } = options;
  const datasets: PlotDataset[] = [];
  const legend: ChartLegendEntry[] = [];
  const groups = new Map<string, (typeof members)[number][]>();
  for (const member of members) {
    const entries = groups.get(member.group) ?? [];
    entries.push(member);
    groups.set(member.group, entries);
  }
  const ordered = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
  ordered.forEach(([label, entries], index) => {
    const color = seriesColor(index, dark);
    const seriesId = `group:${label}`;
    const runs = entries.map((entry) => entry.points);
    if (options.missing && runs.every((points) => points.length === 0)) {
      legend.push({ seriesId, label, color, missing: options.missing });
      return;
    }
    legend.push({ seriesId, label, color, detail: `${runs.length} run${runs.length === 1 ? "" : "s"}` });
    entries.forEach((entry, member) => {
      const markers = nonFiniteMarkers(entry.points, { key: `${seriesId}:${member}`, seriesId, label, color });
      if (markers) datasets.push(markers);
    });
    const smoothed = entries.map((entry) =>
      smoothing > 0 ? smoothEma(entry.points, smoothing, entry.start) : entry.points,
    );
    const band = aggregateRuns(smoothed);
    if (runs.length > 1) {
      datasets.push({
        key: `${seriesId}:min`,
        role: "band-low",
        seriesId,
        label: `${label} min`,
        data: band.map((point) => ({ x: point.x, y: point.min })),
        borderColor: "transparent",
        pointRadius: 0,
        borderWidth: 0,
        fill: false,
      });
      datasets.push({
        key: `${seriesId}:max`,
        role: "band-high",
        seriesId,
        label: `${label} max`,
        data: band.map((point) => ({ x: point.x, y: point.max })),
        borderColor: "transparent",
        pointRadius: 0,
        borderWidth: 0,
        fill: "-1",
        backgroundColor: withAlpha(color, dark ? 0.22 : 0.16),
      });
    }
    if (smoothing > 0) {
      const rawMean = aggregateRuns(runs).map((point) => ({ x: point.x, y: point.mean }));
      datasets.push({
        key: `${seriesId}:raw`,
        role: "raw",
        seriesId,
        label: `${label} mean (raw)`,
        data: rawMean,
        borderColor: withAlpha(color, 0.28),
        borderWidth: 1,
      });
    }
    datasets.push({
      key: seriesId,
      role: "main",
      seriesId,
      label: `${label} mean`,
      data: band.map((point) => ({ x: point.x, y: point.mean })),
      notes: band.map((point) =>
        point.count > 1 && point.min !== null && point.max !== null
          ? `${point.count} runs, min ${formatMetric(point.min)}, max ${formatMetric(point.max)}`
          : null,
      ),
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2,
    });
  });
  return { datasets, legend };
}
