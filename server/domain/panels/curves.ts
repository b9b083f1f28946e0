import { z } from "zod";
import { NON_FINITE_TEXTS } from "../metrics/chart-value.ts";
import { definePanel } from "./panel-definition.ts";
import { ZStoredNumber } from "./stored-number.ts";

export const ZXAxis = z.enum(["step", "wallclock", "time/train_seconds", "flops", "samples", "tokens"]);

export const ZCurvesPanel = z.strictObject({
  kind: z.literal("curves"),
  metric: z.string().min(1),
  x: ZXAxis.default("step"),
  logX: z.boolean().default(false),
  logY: z.boolean().default(false),
  groupBy: z.string().optional(),
});
export type CurvesPanel = z.infer<typeof ZCurvesPanel>;

/**
 * A curves panel as a report shows it (and a frozen report stores it): each run's series, downsampled.
 * y is "NaN", "Infinity" or "-Infinity" where that was logged; snapshots frozen before hold null for all three.
 */
export const ZCurvesPanelView = z.object({
  kind: z.literal("curves"),
  panel: ZCurvesPanel,
  series: z.array(
    z.object({
      runId: z.string(),
      points: z.array(
        z.object({
          x: ZStoredNumber,
          y: z.union([z.number(), z.enum(NON_FINITE_TEXTS as ["NaN", "Infinity", "-Infinity"])]).nullable(),
          interpolated: z.literal(true).optional(),
        }),
      ),
      downsampled: z.boolean(),
    }),
  ),
});
export type CurvesPanelView = z.infer<typeof ZCurvesPanelView>;

export const curvesPanel = definePanel(ZCurvesPanel, ZCurvesPanelView, {
  kind: "curves",
  label: "curves",
  description: "a metric against steps, wall-clock time, FLOPs, samples or tokens, one line per run",
  create: (metric) => ({ kind: "curves", metric, x: "step", logX: false, logY: false }),
  describe: (panel) =>
    `${panel.metric} vs ${panel.x}${panel.logX ? " (log x)" : ""}${panel.logY ? " (log y)" : ""}${panel.groupBy ? ` by ${panel.groupBy}` : ""}`,
});
