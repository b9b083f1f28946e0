import { z } from "zod";
import { definePanel } from "./panel-definition.ts";
import { ZStoredNumber } from "./stored-number.ts";

export const ZScalingPanel = z.strictObject({
  kind: z.literal("scaling"),
  metric: z.string().min(1).default("val/loss"),
  x: z.enum(["params", "flops", "wallclock"]).default("params"),
  fit: z.boolean().default(true),
});
export type ScalingPanel = z.infer<typeof ZScalingPanel>;

const ZInterval = z.object({ low: ZStoredNumber, high: ZStoredNumber });
const ZBudget = z.object({ kind: z.enum(["flops", "seconds"]), value: ZStoredNumber });
const ZCostCurve = z.object({
  c: ZStoredNumber,
  beta: ZStoredNumber,
  r2: ZStoredNumber,
  n: z.number(),
  sizes: z.number(),
});
const ZCostedRun = z.object({ runId: z.string(), loss: ZStoredNumber, cost: ZStoredNumber });
const ZCurvePoint = z.object({
  x: ZStoredNumber,
  loss: ZStoredNumber,
  low: z.number().nullable(),
  high: z.number().nullable(),
});

/**
 * The scaling analysis (scaling-view.ts) as a frozen report stores it. A report asks no budget question,
 * so the view's `advice` (always null in a report) is not kept.
 */
const ZScalingView = z.object({
  metric: z.string(),
  use: z.enum(["final", "best"]),
  x: ZScalingPanel.shape.x.unwrap(),
  runs: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      experimentId: z.string(),
      params: z.record(z.string(), z.unknown()),
      paramCount: z.number().nullable(),
      totalFlops: z.number().nullable(),
      wallClockSeconds: z.number().nullable(),
      x: ZStoredNumber,
      loss: ZStoredNumber,
      lossSource: z.enum(["series", "summary"]),
    }),
  ),
  skipped: z.array(z.object({ runId: z.string(), name: z.string(), reason: z.string() })),
  truncated: z.boolean(),
  groups: z.array(
    z.object({
      paramCount: z.number().nullable(),
      x: ZStoredNumber,
      count: z.number(),
      mean: ZStoredNumber,
      min: ZStoredNumber,
      max: ZStoredNumber,
      std: ZStoredNumber,
      runIds: z.array(z.string()),
    }),
  ),
  fit: z.discriminatedUnion("ok", [
    z.object({
      ok: z.literal(true),
      alpha: ZStoredNumber,
      A: ZStoredNumber,
      E: ZStoredNumber,
      r2: ZStoredNumber,
      n: z.number(),
      sizes: z.number(),
      residualStd: z.number().nullable(),
      warnings: z.array(z.string()),
    }),
    z.object({ ok: z.literal(false), reason: z.string(), n: z.number(), sizes: z.number() }),
  ]),
  intervals: z
    .object({
      alpha: ZInterval,
      A: ZInterval,
      E: ZInterval,
      resamples: z.number(),
      fitted: z.number(),
      // Snapshots frozen before the residual bootstrap existed resampled seeds only.
      method: z.enum(["seed-bootstrap", "residual-bootstrap"]).default("seed-bootstrap"),
    })
    .nullable(),
  /** Why there are no intervals; snapshots frozen before it existed do not say (null). */
  intervalReason: z.string().nullable().default(null),
  curve: z.array(ZCurvePoint),
  extrapolation: ZCurvePoint.nullable(),
  frontier: z.object({ flops: z.array(ZCostedRun), wallclock: z.array(ZCostedRun) }),
  budget: z
    .discriminatedUnion("ok", [
      z.object({
        ok: z.literal(true),
        budget: ZBudget,
        size: ZStoredNumber,
        predictedLoss: ZStoredNumber,
        lossInterval: ZInterval.nullable(),
        costCurve: ZCostCurve,
        smallestRunCost: ZStoredNumber,
        largestObservedSize: ZStoredNumber,
        extrapolated: z.boolean(),
        notes: z.array(z.string()),
      }),
      z.object({
        ok: z.literal(false),
        code: z.enum(["no-loss-fit", "too-few-sizes", "cost-does-not-grow", "below-smallest-run"]),
        reason: z.string(),
        budget: ZBudget,
        costCurve: ZCostCurve.nullable(),
        smallestRunCost: z.number().nullable(),
      }),
    ])
    .nullable(),
});

/** A scaling panel as a report shows it (and a frozen report stores it): the fit over the report's runs. */
export const ZScalingPanelView = z.object({ kind: z.literal("scaling"), panel: ZScalingPanel, scaling: ZScalingView });
export type ScalingPanelView = z.infer<typeof ZScalingPanelView>;

export const scalingPanel = definePanel(ZScalingPanel, ZScalingPanelView, {
  kind: "scaling",
  label: "scaling fit",
  description: "each run's final metric against its size or cost, and a power-law fit where one is estimable",
  create: (metric) => ({ kind: "scaling", metric, x: "params", fit: true }),
  describe: (panel) => `${panel.metric} vs ${panel.x}${panel.fit ? "" : " (fit off)"}`,
});
