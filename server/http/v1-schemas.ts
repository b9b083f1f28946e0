import { z } from "zod";

/** The HTTP logging API's bodies: the zod schemas validate requests and generate the OpenAPI document. */

export const MAX_BODY_BYTES = 1_000_000;
export const MAX_POINTS = 10_000;

/** JSON has no NaN or infinities: they travel as the strings "NaN", "Infinity", "-Infinity" (bare literals are accepted too). */
export const ZMetricValue = z
  .union([z.number(), z.enum(["NaN", "Infinity", "-Infinity"])])
  .describe("A number, or NaN/Infinity/-Infinity as a string");

/** The largest step a run may log or report: steps are stored as PostgreSQL int4. */
export const MAX_STEP = 2_147_483_647;

/** One bound for every step the API takes (points, heartbeats): a step past it is a 400 naming `step`, never a 500. */
export const ZStep = z
  .number()
  .int()
  .min(0)
  .max(MAX_STEP, `at most ${MAX_STEP} (steps are stored as 32-bit integers)`)
  .describe(`Training step, an integer from 0 to ${MAX_STEP}`);

export const ZApiPoint = z.strictObject({
  key: z.string().min(1).max(200).describe('Metric name, e.g. "train/loss"'),
  step: ZStep,
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

export const ZAttachRunBody = z.strictObject({
  runId: z.string().min(1).describe("A queued or running run (a command run gets it as SCALEBOARD_RUN_ID)"),
});

export const ZLogPointsBody = z.strictObject({
  points: z.array(ZApiPoint).min(1).max(MAX_POINTS, `at most ${MAX_POINTS} points per request`),
});

export const ZSummaryBody = z.strictObject({
  summary: z.record(z.string(), z.unknown()).optional(),
  paramCount: z.number().int().min(0).optional(),
  flopsPerStep: z.number().min(0).optional(),
  totalFlops: z.number().min(0).optional(),
  tags: z.array(z.string().min(1).max(50)).max(50).optional(),
  notes: z.string().max(10_000).optional(),
});

export const ZHeartbeatBody = z.strictObject({
  step: ZStep.optional(),
  progress: z.number().min(0).max(1).optional(),
});

export const ZFinishBody = z.strictObject({
  status: z.enum(["succeeded", "failed", "canceled", "diverged"]),
  error: z.string().max(10_000).optional(),
  wallClockSeconds: z.number().min(0).optional(),
});

/* ---- Query parameters of the read endpoints: strings in, checked and converted; a bad one is a 400 naming it. ---- */

/** A query parameter holding a whole number within [min, max]. */
const queryInteger = (min: number, max: number) =>
  z.string().regex(/^\d+$/, "a whole number").transform(Number).pipe(z.number().int().min(min).max(max));

/** A query parameter holding a positive number up to `max` ("1e21" welcome). */
const queryPositive = (max: number) =>
  z
    .string()
    .regex(/^[0-9.eE+-]+$/, "a positive number, e.g. 1e21")
    .transform(Number)
    .pipe(z.number().positive().max(max));

const queryStep = z.string().regex(/^\d+$/, "a whole number").transform(Number).pipe(ZStep);
const queryName = z.string().trim().min(1).max(200);

export const ZExperimentsQuery = z.strictObject({
  project: queryName.optional().describe("Project name (matched by slug, as POST /runs creates projects)"),
  name: queryName.optional().describe("Experiment name"),
  limit: queryInteger(1, 500).optional().describe("Experiments per page, 1-500 (default 100)"),
  cursor: z.string().min(1).max(300).optional().describe("nextCursor of the previous page"),
});

export const ZScalingQuery = z.strictObject({
  metric: queryName
    .optional()
    .describe(
      "The loss to fit (default: the spec's metric when it names one, else the project's metric setting, else \"val/loss\")",
    ),
  budgetFlops: queryPositive(1e40).optional().describe("A compute budget in FLOPs for the advisor (up to 1e40)"),
  budgetSeconds: queryPositive(1e12)
    .optional()
    .describe("A training-time budget in seconds for the advisor, from measured throughput (up to 1e12)"),
});

export const ZRunsQuery = z.strictObject({
  project: queryName.optional().describe("Project name (matched by slug)"),
  experiment: queryName.optional().describe("Experiment name"),
  limit: queryInteger(1, 1000).optional().describe("Runs per page, 1-1000 (default 100)"),
  cursor: z.string().min(1).max(300).optional().describe("nextCursor of the previous page"),
});

export const ZPointsQuery = z
  .strictObject({
    key: queryName.describe('Metric key, e.g. "val/loss"'),
    fromStep: queryStep.optional().describe("First step (inclusive)"),
    toStep: queryStep.optional().describe("Last step (inclusive)"),
    maxPoints: queryInteger(4, 5000)
      .optional()
      .describe("At most this many points: min/max-preserving buckets when the window holds more (4-5000)"),
  })
  .refine((query) => query.fromStep === undefined || query.toStep === undefined || query.fromStep <= query.toStep, {
    message: "fromStep must not exceed toStep",
    path: ["fromStep"],
  });

/* ---- Responses: the OpenAPI document's response schemas (server/http/openapi.ts). ---- */

const ZTimestamp = z.iso.datetime().describe("ISO 8601 time (UTC)");
const ZNullableNumber = z.number().nullable();

export const ZErrorResponse = z.object({
  error: z.object({
    message: z.string().describe("What went wrong, naming the field, parameter or limit"),
    code: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    limitBytes: z.number().optional(),
  }),
});

export const ZCreateRunResponse = z.object({
  runId: z.string(),
  name: z.string(),
  experimentId: z.string(),
  projectId: z.string(),
});
export const ZAttachRunResponse = z.object({
  runId: z.string(),
  name: z.string(),
  experimentId: z.string(),
  status: z.string(),
});
export const ZLogPointsResponse = z.object({
  runId: z.string(),
  stored: z.number().int().describe("Points written: new plus replaced (a retried batch stores none)"),
  new: z.number().int().optional().describe("Points at steps the run had not logged for their key"),
  replaced: z.number().int().optional().describe("Points that changed a logged value"),
  unchanged: z.number().int().optional().describe("Points equal to what was logged (a retried batch)"),
});
export const ZRunIdResponse = z.object({ runId: z.string() });
export const ZHeartbeatResponse = z.object({ runId: z.string(), cancelRequested: z.boolean() });
export const ZFinishResponse = z.object({ runId: z.string(), status: z.string() });

const ZProjectRef = z.object({ id: z.string(), name: z.string(), slug: z.string() });

export const ZExperimentsResponse = z.object({
  experiments: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      description: z.string().nullable(),
      createdAt: ZTimestamp,
      updatedAt: ZTimestamp,
      project: ZProjectRef,
      runCount: z.number().int(),
    }),
  ),
  nextCursor: z.string().nullable().describe("Pass as cursor for the next page; null on the last"),
});

const ZRunListItem = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string().describe("queued, running, succeeded, failed, canceled, diverged or crashed"),
  tags: z.array(z.string()),
  paramCount: ZNullableNumber.describe("N: trainable parameters"),
  flopsPerStep: ZNullableNumber,
  totalFlops: ZNullableNumber.describe("C: training FLOPs"),
  tokens: ZNullableNumber.describe("D for language models: tokens trained on"),
  samples: ZNullableNumber.describe("D otherwise: samples trained on"),
  step: ZNullableNumber,
  progress: ZNullableNumber,
  wallClockSeconds: ZNullableNumber,
  trainSeconds: ZNullableNumber.describe("Seconds inside optimizer steps"),
  createdAt: ZTimestamp,
  startedAt: ZTimestamp.nullable(),
  finishedAt: ZTimestamp.nullable(),
  experiment: z.object({ id: z.string(), name: z.string() }),
  project: ZProjectRef,
});

export const ZRunsResponse = z.object({
  runs: z.array(ZRunListItem),
  nextCursor: z.string().nullable().describe("Pass as cursor for the next page; null on the last"),
});

export const ZRunResponse = ZRunListItem.extend({
  experimentId: z.string(),
  attempt: z.number().int(),
  backend: z.string().nullable(),
  heartbeatAt: ZTimestamp.nullable(),
  cancelRequestedAt: ZTimestamp.nullable(),
  evalSeconds: ZNullableNumber,
  overheadSeconds: ZNullableNumber,
  samplesPerSecond: ZNullableNumber.describe("Steady-state throughput"),
  notes: z.string().nullable(),
  error: z.string().nullable(),
  config: z.unknown().describe("The resolved config; swept and logged hyperparameters under `params`"),
  summary: z.unknown().describe("Summary values the run reported"),
  jsonValues: z
    .object({ config: z.number().int(), summary: z.number().int() })
    .describe("Values in config and summary; past 500 each, the rest are not listed"),
  metricKeys: z.array(z.object({ key: z.string(), points: z.number() })).describe("Keys logged, by name"),
  metricKeyCount: z.number().int(),
});

export const ZRunPointsResponse = z.object({
  runId: z.string(),
  key: z.string(),
  points: z.array(z.object({ step: z.number().int(), value: ZMetricValue })),
  total: z.number().int().describe("Points of the key logged in the window"),
  downsampled: z
    .boolean()
    .describe(
      "True when maxPoints was smaller: each bucket keeps its first, last, min, max and first non-finite point",
    ),
  nextFromStep: z
    .number()
    .int()
    .nullable()
    .describe("Without maxPoints, a window over 5,000 points comes a page at a time: pass as fromStep"),
});
