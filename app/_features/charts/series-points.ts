import type { ChartValue } from "~/server/domain/metrics/chart-value.ts";
import type { PackedSeries } from "~/server/domain/metrics/pack-series.ts";
import type { PlotDataset } from "./line-canvas.tsx";
import type { XY } from "./smoothing.ts";

/**
 * A logged value as a plotted point: a finite number as itself; NaN and the infinities as a gap
 * that says which they were (drawn as a marker); null, what report snapshots frozen before the
 * values were kept apart hold, as a plain gap.
 */
export function plotPoint(x: number, y: ChartValue | null, interpolated = false): XY {
  const point: XY = typeof y === "number" ? { x, y } : y === null ? { x, y: null } : { x, y: null, value: y };
  if (interpolated) point.interpolated = true;
  return point;
}

/**
 * A run's line as metrics.series answers it (pack-series.ts): the window's points, with the
 * nearest points outside it (`outside`) before and after, so a line crossing the window reaches its edges.
 */
export function seriesLine(entry: PackedSeries): XY[] {
  const interpolated = new Set(entry.interpolated);
  const inside = entry.xs.map((x, index) => plotPoint(x, entry.ys[index] ?? null, interpolated.has(index)));
  const outside = (point: PackedSeries["before"]): XY[] =>
    point ? [{ ...plotPoint(point.x, point.y, point.interpolated === true), outside: true }] : [];
  return [...outside(entry.before), ...inside, ...outside(entry.after)];
}

/** Marker y on the hidden edge axis (line-canvas.tsx): +Infinity at the top, NaN and -Infinity at the bottom. */
const EDGE: Record<NonNullable<XY["value"]>, { y: number; style: "triangle" | "rectRot"; rotation: number }> = {
  Infinity: { y: 1, style: "triangle", rotation: 0 },
  "-Infinity": { y: 0, style: "triangle", rotation: 180 },
  NaN: { y: 0, style: "rectRot", rotation: 0 },
};

/**
 * The markers of a line's non-finite points: a triangle at the plot's top edge for +Infinity, one
 * pointing down at the bottom for -Infinity, a diamond at the bottom for NaN, at the point's x; the
 * tooltip names the value. Null when the line has none. Not exported to CSV (the line's row says it).
 */
export function nonFiniteMarkers(
  points: readonly XY[],
  line: { key: string; seriesId: string; label: string; color: string },
): PlotDataset | null {
  const marked = points.filter((point) => point.value !== undefined);
  if (marked.length === 0) return null;
  return {
    key: `${line.key}:non-finite`,
    role: "marker",
    seriesId: line.seriesId,
    label: line.label,
    yAxisID: "edge",
    data: marked.map((point) => ({ ...point, y: EDGE[point.value!].y })),
    showLine: false,
    pointStyle: marked.map((point) => EDGE[point.value!].style),
    pointRotation: marked.map((point) => EDGE[point.value!].rotation),
    pointRadius: 5,
    pointHoverRadius: 6,
    borderColor: line.color,
    backgroundColor: line.color,
  };
}
