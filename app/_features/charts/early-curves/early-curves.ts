import type { ChartRun } from "../curve-datasets.ts";
import type { XWindow } from "../line-chart-config.ts";
import type { SeriesRequest, XAxis } from "../series-request.ts";

/**
 * The compare page's first curves, drawn while the page's JavaScript loads and hydrates: the server
 * renders an empty slot carrying what the chart will show (this) and preloads its points; a small
 * script of its own (paint.ts, bundled by scripts/build-early-curves.ts) draws them as soon as both
 * are there, with the live chart's datasets and options. The curves panel takes the same answer for
 * its first request and removes the slot once its own chart has drawn over it: the reader sees the
 * lines at once, then the same lines, live.
 */
export type EarlyCurves = {
  /** The request the panel makes first: the same URL, so one answer serves both. */
  request: SeriesRequest;
  /** The runs plotted, in order, with only the parameters a group-by or colour-by reads. */
  runs: Pick<ChartRun, "id" | "params">[];
  metric: string;
  x: XAxis;
  logX: boolean;
  logY: boolean;
  groupBy: string | null;
  colorBy: string | null;
  smoothing: number;
  hidden: string[];
  xWindow: XWindow | null;
};

/** The slot's data attribute (data-early-curves) holding the JSON of EarlyCurves. */
export const EARLY_CURVES_ATTRIBUTE = "data-early-curves";

/**
 * The slot element once painted: its chart (in a closed shadow root of the slot), which the panel
 * destroys when it removes the slot. The slot says what it shows as the live chart's canvas does, under
 * data-early-series, data-early-series-colors and data-early-drawn-at.
 */
export type EarlySlot = HTMLElement & { scaleboardChart?: { destroy(): void } };

/** Where scripts/build-early-curves.ts writes its scripts (public/scaleboard/), and their URL path. */
export const BUILT_DIR = "public/scaleboard";
export const BUILT_PATH = "/scaleboard";
