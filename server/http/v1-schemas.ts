import { z } from "zod";

/** The HTTP logging API's bodies: the zod schemas validate requests and generate the OpenAPI document. */

export const MAX_BODY_BYTES = 1_000_000;
export const MAX_POINTS = 10_000;

/** JSON has no NaN or infinities: they travel as the strings "NaN", "Infinity", "-Infinity" (bare literals are accepted too). */
export const ZMetricValue = z.union([z.number(), z.enum(["NaN", "Infinity", "-Infinity"])]).describe("A number, or NaN/Infinity/-Infinity as a string");

export const ZApiPoint = z.strictObject({
  key: z.string().min(1).max(200).describe('Metric name, e.g. "train/loss"'),
  step: z.number().int().min(0).max(2_147_483_647),
  value: ZMetricValue,
  wallTime: z.number().optional().describe("Seconds since the Unix epoch when the value was measured"),
});

export const ZCreateRunBody = z.strictObject({
  project: z.string().trim().min(1).max(100),
  experiment: z.string().trim().min(1).max(100),
  name: z.string().trim().min(1).max(200).optional(),
  config: z.record(z.string(), z.unknown()).default({}).describe("Hyperparameters; shown in tables and config diffs"),
  tags: z.array(z.string().min(1).max(50)).max(50).default([]),
  paramCount: z.number().int().min(0).optional(),
  flopsPerStep: z.number().min(0).optional(),
});

export const ZAttachRunBody = z.strictObject({ runId: z.string().min(1).describe("A queued or running run (a command run gets it as SCALEBOARD_RUN_ID)") });

export const ZLogPointsBody = z.strictObject({ points: z.array(ZApiPoint).min(1).max(MAX_POINTS, `at most ${MAX_POINTS} points per request`) });

export const ZSummaryBody = z.strictObject({
  summary: z.record(z.string(), z.unknown()).optional(),
  paramCount: z.number().int().min(0).optional(),
  flopsPerStep: z.number().min(0).optional(),
  totalFlops: z.number().min(0).optional(),
  tags: z.array(z.string().min(1).max(50)).max(50).optional(),
  notes: z.string().max(10_000).optional(),
});

export const ZHeartbeatBody = z.strictObject({ step: z.number().int().min(0).optional(), progress: z.number().min(0).max(1).optional() });

export const ZFinishBody = z.strictObject({
  status: z.enum(["succeeded", "failed", "canceled", "diverged"]),
  error: z.string().max(10_000).optional(),
  wallClockSeconds: z.number().min(0).optional(),
});
