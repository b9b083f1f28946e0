import type { Chart, Plugin, Scale } from "chart.js";
import type { PlotDataset, XWindow } from "../line-chart-config.ts";
import type { XY } from "../smoothing.ts";

/**
 * The early chart's lines: Chart.js lays out the axes from a few points per line (those that decide
 * its ranges) and this plugin strokes every point of every line on its scales, as Chart.js's own line
 * element does (straight segments, a gap at each missing value, clipped to the plot area, the first
 * dataset on top), without building an element per point: about a tenth of the time on 100,000 points.
 */

/** Datasets whose look needs Chart.js itself (filled bands, point markers): the early chart leaves such charts alone. */
export function needsChartJs(dataset: PlotDataset): boolean {
  return dataset.role !== "main" && dataset.role !== "raw" && dataset.role !== "marker";
}

/**
 * The points of a line that decide Chart.js's axis ranges: its first and last (x, sorted data) and its
 * lowest and highest values among the points inside the shown x range.
 */
export function rangePoints(points: readonly XY[], xBounds: { min?: number; max?: number }): XY[] {
  if (points.length <= 4) return [...points];
  let low: XY | null = null;
  let high: XY | null = null;
  for (const point of points) {
    if (point.y === null || !Number.isFinite(point.y)) continue;
    if ((xBounds.min !== undefined && point.x < xBounds.min) || (xBounds.max !== undefined && point.x > xBounds.max))
      continue;
    if (!low || point.y < (low.y as number)) low = point;
    if (!high || point.y > (high.y as number)) high = point;
  }
  const chosen = new Set<XY>([points[0]!, points[points.length - 1]!]);
  if (low) chosen.add(low);
  if (high) chosen.add(high);
  return [...chosen].sort((a, b) => a.x - b.x);
}

/** The x bounds the options give the x axis (line-chart-config.ts), which limit the points that set the y range. */
export function xBoundsOf(xWindow: XWindow | null, logX: boolean): { min?: number; max?: number } {
  if (!xWindow) return {};
  return { ...(!logX || xWindow.min > 0 ? { min: xWindow.min } : {}), max: xWindow.max };
}

/** A line's x and y values (a y that is not a finite number is a gap), its colour and width. */
export type FastLine = { xs: ArrayLike<number>; ys: ArrayLike<unknown>; color: string; width: number };

/** A dataset's points as FastLine's arrays. */
export function lineArrays(points: readonly XY[]): { xs: number[]; ys: (number | null)[] } {
  return { xs: points.map((point) => point.x), ys: points.map((point) => point.y) };
}

/**
 * Strokes `lines` (the first on top) inside the plot area as Chart.js's line element does: a segment
 * per run of present values, straight from point to point.
 */
export function fastLinesPlugin(lines: readonly FastLine[]): Plugin<"line"> {
  return {
    id: "scaleboardFastLines",
    beforeDatasetsDraw(chart: Chart<"line">) {
      const { ctx, chartArea: area } = chart;
      const x = affine(chart.scales.x!);
      const y = affine(chart.scales.y!);
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      ctx.clip();
      ctx.lineJoin = "miter";
      ctx.lineCap = "butt";
      // Pixels first (plain arithmetic into typed arrays), then the path: a loop that only calls the canvas.
      const pixels = lines.map((line) => {
        const count = line.xs.length;
        const xs = new Float64Array(count);
        const ys = new Float64Array(count);
        for (let at = 0; at < count; at++) {
          const value = line.ys[at];
          const position = line.xs[at]!;
          xs[at] = x.from + ((x.log ? Math.log10(position) : position) - x.origin) * x.slope;
          ys[at] =
            typeof value === "number"
              ? y.from + ((y.log ? Math.log10(value) : value) - y.origin) * y.slope
              : Number.NaN;
        }
        return { xs, ys };
      });
      for (let index = lines.length - 1; index >= 0; index--) {
        const line = lines[index]!;
        const { xs, ys } = pixels[index]!;
        ctx.strokeStyle = line.color;
        ctx.lineWidth = line.width;
        ctx.beginPath();
        let inSegment = false;
        for (let at = 0; at < xs.length; at++) {
          const py = ys[at]!;
          // A gap: a missing value, or one a log axis cannot place (log of zero or less).
          if (!(py - py === 0) || !(xs[at]! - xs[at]! === 0)) {
            inSegment = false;
            continue;
          }
          if (inSegment) ctx.lineTo(xs[at]!, py);
          else ctx.moveTo(xs[at]!, py);
          inSegment = true;
        }
        ctx.stroke();
      }
      ctx.restore();
    },
  };
}

/**
 * A scale's value-to-pixel mapping as one multiply-add (on log10 of the value for a log scale), taken
 * from two of the scale's own answers (getPixelForValue), so the loop above stays plain arithmetic.
 */
function affine(scale: Scale): { log: boolean; from: number; origin: number; slope: number } {
  const log = scale.type === "logarithmic";
  const [low, high] = log ? [scale.min, scale.max] : [0, 1];
  const from = scale.getPixelForValue(low);
  const slope = (scale.getPixelForValue(high) - from) / (log ? Math.log10(high / low) : high - low);
  return { log, from, origin: log ? Math.log10(low) : low, slope };
}
