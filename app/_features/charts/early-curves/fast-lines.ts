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
 * lowest and highest values among the points inside the shown x range. A value a log axis cannot place
 * counts as missing, as visibleDatasets (curve-datasets.ts) makes it.
 */
export function rangePoints(
  line: Pick<FastLine, "xs" | "ys">,
  xBounds: { min?: number; max?: number },
  log: { x: boolean; y: boolean },
): XY[] {
  const count = line.xs.length;
  if (count === 0) return [];
  const at = (index: number): XY => {
    const x = line.xs[index]!;
    const value = line.ys[index];
    const placed = typeof value === "number" && !(log.x && x <= 0) && !(log.y && value <= 0);
    return { x, y: placed ? value : null };
  };
  let low = -1;
  let high = -1;
  for (let index = 0; index < count; index++) {
    const x = line.xs[index]!;
    const value = line.ys[index];
    if (typeof value !== "number" || !Number.isFinite(value) || (log.x && x <= 0) || (log.y && value <= 0)) continue;
    if ((xBounds.min !== undefined && x < xBounds.min) || (xBounds.max !== undefined && x > xBounds.max)) continue;
    if (low < 0 || value < (line.ys[low] as number)) low = index;
    if (high < 0 || value > (line.ys[high] as number)) high = index;
  }
  const chosen = [...new Set([0, count - 1, low, high])].filter((index) => index >= 0).sort((a, b) => a - b);
  return chosen.map(at);
}

/**
 * The y range lines take inside an x window, as yRangeIn (line-chart-config.ts) finds it for datasets:
 * their values in it and, where a segment crosses an edge, its value there.
 */
export function yRangeOfLines(
  lines: readonly Pick<FastLine, "xs" | "ys">[],
  window: XWindow,
  logY: boolean,
): XWindow | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const include = (y: number) => {
    if (!Number.isFinite(y) || (logY && y <= 0)) return;
    min = Math.min(min, y);
    max = Math.max(max, y);
  };
  for (const { xs, ys } of lines) {
    for (let index = 0; index < xs.length; index++) {
      const x = xs[index]!;
      const y = ys[index];
      if (typeof y !== "number") continue;
      if (x >= window.min && x <= window.max) include(y);
      const nextX = xs[index + 1];
      const nextY = ys[index + 1];
      if (nextX === undefined || typeof nextY !== "number" || nextX === x) continue;
      for (const edge of [window.min, window.max])
        if ((x - edge) * (nextX - edge) < 0) include(y + ((nextY - y) * (edge - x)) / (nextX - x));
    }
  }
  return min <= max ? { min, max } : null;
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
