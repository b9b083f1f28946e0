import { randomUUID } from "node:crypto";
import type { Db } from "../../db.ts";
import type { Prisma, RunStatus } from "../../generated/prisma/client.ts";
import { readRunPoints } from "../experiment/read-run-points.ts";
import { CHUNK_STEPS, type ChunkPoints, chunkOf, decodeChunk } from "../metrics/chunk-codec.ts";
import { ingestPoints, type MetricPointInput } from "../metrics/ingest-points.ts";
import { publishRunEvent } from "../run/run-events.ts";
import { finishTrackedRun, findTeamRun } from "../tracking/track-run.ts";
import { MlflowError } from "./mlflow-error.ts";
import { decodeToken, encodeToken, getExperiment } from "./mlflow-experiments.ts";
import { type DatasetInput, mergeDatasetInputs, runInputsProto } from "./mlflow-inputs.ts";

/**
 * MLflow runs are Scaleboard runs tracked over HTTP (the same rows as /api/v1's), so tables, compare
 * and fits treat them alike. What MLflow has and Scaleboard does not is kept on the run as sent:
 * `environment.mlflow` holds the params (strings) and tags (key/value) exactly as logged.
 * - params go to `config.params` with numbers and true/false parsed ("0.01" -> 0.01); a param
 *   `paramCount` also sets the run's paramCount (the scaling view's N).
 * - tags: `mlflow.runName` is the run's name, `mlflow.note.content` its notes; tags not starting
 *   with `mlflow.` are also listed in the run's tags as "key:value" (when that fits 50 characters).
 * - metrics: one value per (key, step), the step MLflow sends (0 when the script gives none); a later
 *   value at the same step replaces the earlier. The timestamp (ms) is the point's wall time (s).
 * - statuses: RUNNING <-> running (and queued), FINISHED <-> succeeded, FAILED <-> failed (and
 *   diverged, crashed), KILLED <-> canceled.
 */

export const MAX_METRICS_PER_BATCH = 1000;
export const MAX_PARAMS_TAGS_PER_BATCH = 100;
export const MAX_PARAMS_PER_RUN = 2000;
export const MAX_TAGS_PER_RUN = 1000;
const MAX_KEY = 250;
const MAX_PARAM_VALUE = 6000;
const MAX_TAG_VALUE = 8000;
const MAX_STEP = 2_147_483_647;
export const MAX_RUNS_PER_SEARCH = 1000;

export type KeyValue = { key: string; value: string };
export type MlflowMetric = { key: string; value: number; timestamp: number; step: number };
export type MlflowStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";

type MlflowRecord = { params: Record<string, string>; tags: Record<string, string>; userId?: string };

const TO_MLFLOW: Record<RunStatus, MlflowStatus> = {
  queued: "RUNNING",
  running: "RUNNING",
  succeeded: "FINISHED",
  failed: "FAILED",
  diverged: "FAILED",
  crashed: "FAILED",
  canceled: "KILLED",
};
const FROM_MLFLOW = { FINISHED: "succeeded", FAILED: "failed", KILLED: "canceled" } as const;

export function parseParamValue(value: string): string | number | boolean {
  const trimmed = value.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) {
    const number = Number(trimmed);
    if (Number.isFinite(number)) return number;
  }
  if (/^(true|false)$/i.test(trimmed)) return trimmed.toLowerCase() === "true";
  return value;
}

const runSelect = {
  id: true,
  name: true,
  status: true,
  experimentId: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  config: true,
  environment: true,
} satisfies Prisma.RunSelect;
type RunRow = Prisma.RunGetPayload<{ select: typeof runSelect }>;

function mlflowRecord(environment: unknown): MlflowRecord | null {
  const record = (environment as { mlflow?: MlflowRecord } | null)?.mlflow;
  return record && typeof record === "object" ? record : null;
}

function runParams(row: RunRow): Record<string, string> {
  const record = mlflowRecord(row.environment);
  if (record) return record.params;
  // A run logged another way (/api/v1, the Python package, a spec): its config's params as strings.
  const params = (row.config as { params?: Record<string, unknown> } | null)?.params ?? {};
  return Object.fromEntries(
    Object.entries(params).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

function runTags(row: RunRow): Record<string, string> {
  return { ...(mlflowRecord(row.environment)?.tags ?? {}), "mlflow.runName": row.name };
}

/** A non-finite value travels as protobuf's JSON does it: "NaN", "Infinity", "-Infinity". */
export function protoDouble(value: number): number | string {
  return Number.isFinite(value) ? value : Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
}

export function runInfoProto(row: RunRow) {
  return {
    run_id: row.id,
    run_uuid: row.id,
    run_name: row.name,
    experiment_id: row.experimentId,
    user_id: mlflowRecord(row.environment)?.userId ?? "",
    status: TO_MLFLOW[row.status],
    start_time: (row.startedAt ?? row.createdAt).getTime(),
    ...(row.finishedAt ? { end_time: row.finishedAt.getTime() } : {}),
    artifact_uri: `mlflow-artifacts:/${row.experimentId}/${row.id}/artifacts`,
    lifecycle_stage: "active",
  };
}

type LatestMetric = { runId: string; key: string; value: number | null; step: number | null; timestamp: number };

/** MLflow's timestamp (ms since the epoch) for a stored wall time (s); null when the point had none. */
export const timestampOf = (wallTime: number | null | undefined): number | null =>
  wallTime != null && Number.isFinite(wallTime) ? Math.round(wallTime * 1000) : null;

/**
 * The logged wall time (s) of each series' last step, keyed "runId\u0000key": one query reading the one
 * chunk that holds each series' last step.
 */
async function lastWallTimes(db: Db, runIds: readonly string[]): Promise<Map<string, number | null>> {
  const rows = await db.$queryRaw<(ChunkPoints & { runId: string; key: string; lastStep: number })[]>`
    SELECT s."runId", s.key, s."lastStep", c.chunk, c.count, c."firstStep", c."stepOffsets", c."pointValues", c."wallTimes"
    FROM "MetricSeries" s JOIN "MetricChunk" c ON c."seriesNumber" = s.number AND c.chunk = floor(s."lastStep"::float8 / ${CHUNK_STEPS})::int
    WHERE s."runId" = ANY(${[...runIds]}::text[]) AND c."wallTimes" IS NOT NULL`;
  const times = new Map<string, number | null>();
  for (const row of rows)
    times.set(
      `${row.runId}\u0000${row.key}`,
      decodeChunk(row).find((point) => point.step === row.lastStep)?.wallTime ?? null,
    );
  return times;
}

/** The logged wall time (s) of each of these steps of one run's key; steps without one are absent. */
export async function wallTimesAt(
  db: Db,
  runId: string,
  key: string,
  steps: readonly number[],
): Promise<Map<number, number>> {
  const times = new Map<number, number>();
  if (steps.length === 0) return times;
  const chunks = [...new Set(steps.map(chunkOf))];
  const rows = await db.$queryRaw<ChunkPoints[]>`
    SELECT c.chunk, c.count, c."firstStep", c."stepOffsets", c."pointValues", c."wallTimes"
    FROM "MetricSeries" s JOIN "MetricChunk" c ON c."seriesNumber" = s.number
    WHERE s."runId" = ${runId} AND s.key = ${key} AND c.chunk = ANY(${chunks}::int[]) AND c."wallTimes" IS NOT NULL`;
  for (const row of rows)
    for (const point of decodeChunk(row)) if (point.wallTime !== null) times.set(point.step, point.wallTime);
  return times;
}

/**
 * Run messages (info, data: latest metric per key, params, tags) for rows, with two more queries for
 * all of them. A latest metric's timestamp is its last point's logged wall time (MLflow clients send
 * one with every metric), else when its series last changed.
 */
async function runProtos(db: Db, rows: RunRow[]) {
  if (!rows.length) return [];
  const runIds = rows.map((row) => row.id);
  const [series, wallTimes] = await Promise.all([
    db.metricSeries.findMany({
      where: { runId: { in: runIds } },
      select: { runId: true, key: true, lastValue: true, lastStep: true, updatedAt: true },
    }),
    lastWallTimes(db, runIds),
  ]);
  const latest: LatestMetric[] = series.map((item) => ({
    runId: item.runId,
    key: item.key,
    value: item.lastValue,
    step: item.lastStep,
    timestamp: timestampOf(wallTimes.get(`${item.runId}\u0000${item.key}`)) ?? item.updatedAt.getTime(),
  }));
  const byRun = new Map<string, LatestMetric[]>();
  for (const metric of latest) byRun.set(metric.runId, [...(byRun.get(metric.runId) ?? []), metric]);
  return rows.map((row) => ({
    info: runInfoProto(row),
    data: {
      metrics: (byRun.get(row.id) ?? []).map((metric) => ({
        key: metric.key,
        value: protoDouble(metric.value ?? Number.NaN),
        timestamp: metric.timestamp,
        step: metric.step ?? 0,
      })),
      params: Object.entries(runParams(row)).map(([key, value]) => ({ key, value })),
      tags: Object.entries(runTags(row)).map(([key, value]) => ({ key, value })),
    },
    inputs: runInputsProto(row.config),
  }));
}

/** A run of the team, or RESOURCE_DOES_NOT_EXIST (another team's run answers exactly like a missing one). */
export async function readRun(db: Db, teamId: string, runId: string): Promise<RunRow> {
  await findTeamRun(db, teamId, runId).catch(() => {
    throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `Run with id=${runId} not found`);
  });
  return db.run.findUniqueOrThrow({ where: { id: runId }, select: runSelect });
}

export async function getMlflowRun(db: Db, teamId: string, runId: string) {
  const [run] = await runProtos(db, [await readRun(db, teamId, runId)]);
  return run!;
}

function checkKey(what: string, key: string): void {
  if (!key || key.length > MAX_KEY)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `${what} key must be 1 to ${MAX_KEY} characters (got ${key.length})`,
    );
}

/** Run.tags: the user's own tags (not mlflow.*) as "key:value" where that fits, at most 50. */
function listedTags(tags: Record<string, string>): string[] {
  return Object.entries(tags)
    .filter(([key]) => !key.startsWith("mlflow."))
    .map(([key, value]) => (value ? `${key}:${value}` : key))
    .filter((tag) => tag.length >= 1 && tag.length <= 50)
    .slice(0, 50);
}

function tagMap(tags: KeyValue[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags) {
    checkKey("Tag", tag.key);
    if (tag.value.length > MAX_TAG_VALUE)
      throw new MlflowError("INVALID_PARAMETER_VALUE", `Tag '${tag.key}': value is over ${MAX_TAG_VALUE} characters`);
    map[tag.key] = tag.value;
  }
  return map;
}

export async function createMlflowRun(
  db: Db,
  teamId: string,
  input: { experimentId: string; userId?: string; startTime?: number; tags: KeyValue[]; runName?: string },
) {
  const experiment = await getExperiment(db, teamId, input.experimentId);
  const tags = tagMap(input.tags);
  if (Object.keys(tags).length > MAX_TAGS_PER_RUN)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `A run holds at most ${MAX_TAGS_PER_RUN} tags`);
  const now = new Date();
  const name = (
    input.runName ||
    tags["mlflow.runName"] ||
    `run-${now.toISOString().replace(/[-:T]/g, "").slice(0, 14)}`
  ).slice(0, 200);
  tags["mlflow.runName"] = name;
  const record: MlflowRecord = { params: {}, tags, ...(input.userId ? { userId: input.userId } : {}) };
  const startedAt = input.startTime && input.startTime > 0 ? new Date(input.startTime) : now;
  const row = await db.$transaction(async (tx) => {
    const created = await tx.run.create({
      data: {
        experimentId: experiment.id,
        name,
        // Tracked runs are not sweep cells: each one is its own identity.
        cellHash: `tracked-${randomUUID()}`,
        config: { params: {}, runner: { kind: "tracked" } } as Prisma.InputJsonValue,
        environment: { mlflow: record } as unknown as Prisma.InputJsonValue,
        status: "running",
        attempt: 1,
        workerName: "http",
        heartbeatAt: now,
        startedAt: Number.isNaN(startedAt.getTime()) ? now : startedAt,
        tags: listedTags(tags),
        backend: "external",
        ...(tags["mlflow.note.content"] ? { notes: tags["mlflow.note.content"].slice(0, 10_000) } : {}),
      },
      select: runSelect,
    });
    await publishRunEvent(tx, { runId: created.id, experimentId: created.experimentId, status: "running" });
    return created;
  });
  const [run] = await runProtos(db, [row]);
  return run!;
}

/**
 * Params and tags merged into the run under a row lock, so concurrent batches of one run lose
 * nothing. A param logged again with another value is refused, as MLflow refuses it.
 */
async function mergeParamsAndTags(
  db: Db,
  runId: string,
  params: KeyValue[],
  tags: Record<string, string>,
  deleteTag?: string,
): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM "Run" WHERE id = ${runId} FOR UPDATE`;
    const row = await tx.run.findUniqueOrThrow({ where: { id: runId }, select: runSelect });
    const existing = mlflowRecord(row.environment);
    const record: MlflowRecord = existing
      ? { ...existing, params: { ...existing.params }, tags: { ...existing.tags } }
      : { params: runParams(row), tags: {} };
    const config = { ...((row.config as Record<string, unknown> | null) ?? {}) };
    const configParams = { ...((config.params as Record<string, unknown> | undefined) ?? {}) };
    for (const param of params) {
      checkKey("Param", param.key);
      if (param.value.length > MAX_PARAM_VALUE)
        throw new MlflowError(
          "INVALID_PARAMETER_VALUE",
          `Param '${param.key}': value is over ${MAX_PARAM_VALUE} characters`,
        );
      const before = record.params[param.key];
      if (before !== undefined && before !== param.value)
        throw new MlflowError(
          "INVALID_PARAMETER_VALUE",
          `Changing param values is not allowed. Param with key='${param.key}' was already logged with value='${before}' for run ID='${runId}'. Attempted logging new value '${param.value}'.`,
        );
      record.params[param.key] = param.value;
      configParams[param.key] = parseParamValue(param.value);
    }
    if (deleteTag !== undefined) {
      if (!(deleteTag in record.tags))
        throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `No tag with name: ${deleteTag} in run with id ${runId}`);
      delete record.tags[deleteTag];
    }
    Object.assign(record.tags, tags);
    if (Object.keys(record.params).length > MAX_PARAMS_PER_RUN)
      throw new MlflowError("INVALID_PARAMETER_VALUE", `A run holds at most ${MAX_PARAMS_PER_RUN} params`);
    if (Object.keys(record.tags).length > MAX_TAGS_PER_RUN)
      throw new MlflowError("INVALID_PARAMETER_VALUE", `A run holds at most ${MAX_TAGS_PER_RUN} tags`);
    const paramCount = configParams.paramCount;
    const name = tags["mlflow.runName"];
    const note = tags["mlflow.note.content"];
    await tx.run.update({
      where: { id: runId },
      data: {
        ...(params.length ? { config: { ...config, params: configParams } as Prisma.InputJsonValue } : {}),
        environment: {
          ...((row.environment as Record<string, unknown> | null) ?? {}),
          mlflow: record,
        } as unknown as Prisma.InputJsonValue,
        tags: listedTags(record.tags),
        ...(name ? { name: name.slice(0, 200) } : {}),
        ...(note !== undefined ? { notes: note.slice(0, 10_000) } : {}),
        ...(typeof paramCount === "number" && Number.isSafeInteger(paramCount) && paramCount >= 0
          ? { paramCount: BigInt(paramCount) }
          : {}),
        ...(row.status === "running" ? { heartbeatAt: new Date() } : {}),
      },
      select: { id: true },
    });
  });
}

function checkMetrics(metrics: MlflowMetric[]): MetricPointInput[] {
  return metrics.map((metric) => {
    if (!metric.key || metric.key.length > 200)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `Metric key must be 1 to 200 characters (got ${metric.key.length})`,
      );
    if (!Number.isInteger(metric.step) || metric.step < 0 || metric.step > MAX_STEP)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `Metric '${metric.key}': step must be a whole number from 0 to ${MAX_STEP} (got ${metric.step})`,
      );
    return {
      key: metric.key,
      step: metric.step,
      value: metric.value,
      ...(Number.isFinite(metric.timestamp) && metric.timestamp > 0 ? { wallTime: metric.timestamp / 1000 } : {}),
    };
  });
}

export async function logMlflowBatch(
  db: Db,
  teamId: string,
  runId: string,
  input: { metrics: MlflowMetric[]; params: KeyValue[]; tags: KeyValue[] },
): Promise<void> {
  if (input.metrics.length > MAX_METRICS_PER_BATCH)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `A batch logging request can contain at most ${MAX_METRICS_PER_BATCH} metrics. Got ${input.metrics.length} metrics.`,
    );
  if (input.params.length > MAX_PARAMS_TAGS_PER_BATCH || input.tags.length > MAX_PARAMS_TAGS_PER_BATCH)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `A batch logging request can contain at most ${MAX_PARAMS_TAGS_PER_BATCH} params and ${MAX_PARAMS_TAGS_PER_BATCH} tags.`,
    );
  const points = checkMetrics(input.metrics);
  const tags = tagMap(input.tags);
  const run = await readRun(db, teamId, runId);
  if (input.params.length || input.tags.length) await mergeParamsAndTags(db, run.id, input.params, tags);
  if (points.length) {
    await ingestPoints(db, run.id, points);
    if (run.status === "running")
      await db.run.update({ where: { id: run.id }, data: { heartbeatAt: new Date() }, select: { id: true } });
  }
}

export async function logMlflowInputs(db: Db, teamId: string, runId: string, datasets: DatasetInput[]) {
  const run = await readRun(db, teamId, runId);
  await mergeDatasetInputs(db, run.id, datasets);
}

/**
 * MLflow's soft delete has no counterpart: Scaleboard keeps every run and has no deleted or hidden
 * state, so runs/delete is refused (501 NOT_IMPLEMENTED, as MLflow answers what a store cannot do)
 * after the run is found, and runs/restore of a run that exists is already true.
 */
export async function deleteMlflowRun(db: Db, teamId: string, runId: string): Promise<never> {
  await readRun(db, teamId, runId);
  throw new MlflowError(
    "NOT_IMPLEMENTED",
    `Run ${runId} was not deleted: Scaleboard keeps every run (it has no deleted or hidden runs). To set it apart, end it as KILLED (runs/update) or tag it (runs/set-tag)`,
  );
}

export async function restoreMlflowRun(db: Db, teamId: string, runId: string): Promise<void> {
  await readRun(db, teamId, runId);
}

export async function deleteMlflowTag(db: Db, teamId: string, runId: string, key: string): Promise<void> {
  const run = await readRun(db, teamId, runId);
  await mergeParamsAndTags(db, run.id, [], {}, key);
}

/** RUNNING, FINISHED, FAILED or KILLED; an end time sets finishedAt and, when none was reported, wallClockSeconds. */
export async function updateMlflowRun(
  db: Db,
  teamId: string,
  runId: string,
  input: { status?: MlflowStatus; endTime?: number; runName?: string },
) {
  const run = await readRun(db, teamId, runId);
  if (input.status === "SCHEDULED")
    throw new MlflowError("INVALID_PARAMETER_VALUE", "status: SCHEDULED is not supported; use RUNNING");
  if (input.runName) await mergeParamsAndTags(db, run.id, [], { "mlflow.runName": input.runName });
  const endedAt = input.endTime && input.endTime > 0 ? new Date(input.endTime) : new Date();
  const startedAt = run.startedAt ?? run.createdAt;
  if (input.status && input.status !== "RUNNING") {
    const status = FROM_MLFLOW[input.status];
    if (run.status === "running" || run.status === "queued") {
      const seconds = Math.max(0, (endedAt.getTime() - startedAt.getTime()) / 1000);
      await finishTrackedRun(db, teamId, run.id, { status, wallClockSeconds: seconds });
    }
    await db.run.update({ where: { id: run.id }, data: { status, finishedAt: endedAt }, select: { id: true } });
  } else if (input.status === "RUNNING") {
    await db.$transaction(async (tx) => {
      await tx.run.update({
        where: { id: run.id },
        data: { status: "running", finishedAt: null, heartbeatAt: new Date(), error: null },
        select: { id: true },
      });
      if (run.status !== "running")
        await publishRunEvent(tx, { runId: run.id, experimentId: run.experimentId, status: "running" });
    });
  }
  return runInfoProto(await db.run.findUniqueOrThrow({ where: { id: run.id }, select: runSelect }));
}

/**
 * A metric's history, as logged, a page (POINTS_PAGE, 5,000 points) at a time through the read API's
 * own reader; `timestamp` is each point's logged wall time in ms (0 for a point logged without one).
 */
export async function getMlflowMetricHistory(
  db: Db,
  teamId: string,
  runId: string,
  input: { key: string; maxResults?: number; pageToken?: string },
): Promise<{
  metrics: { key: string; value: number | string; timestamp: number; step: number }[];
  next_page_token?: string;
}> {
  const run = await readRun(db, teamId, runId);
  const from = input.pageToken ? Number(decodeToken(input.pageToken)) : undefined;
  if (from !== undefined && !Number.isInteger(from))
    throw new MlflowError("INVALID_PARAMETER_VALUE", "page_token: not a token this server issued");
  const page = await readRunPoints(db, run.id, { key: input.key, ...(from !== undefined ? { fromStep: from } : {}) });
  const wallTimes = await wallTimesAt(
    db,
    run.id,
    input.key,
    page.points.map((point) => point.step),
  );
  return {
    metrics: page.points.map((point) => ({
      key: input.key,
      value: point.value,
      timestamp: timestampOf(wallTimes.get(point.step)) ?? 0,
      step: point.step,
    })),
    ...(page.nextFromStep !== null ? { next_page_token: encodeToken(String(page.nextFromStep)) } : {}),
  };
}

type RunFilter = (run: Awaited<ReturnType<typeof runProtos>>[number]) => boolean;

const OPERATORS: Record<string, (left: number | string, right: number | string) => boolean> = {
  "=": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
};

/**
 * The part of MLflow's search grammar answered here: clauses joined by AND, each
 * `metrics.k <op> number`, `params.k = 'v'`, `tags.k = 'v'` (keys may be quoted with " or `),
 * `attributes.status`, `attributes.run_name` / `run_name` / `status` with = or !=. Other filters are refused by name.
 */
function runFilters(filter: string | undefined): RunFilter[] {
  if (!filter?.trim()) return [];
  return filter.split(/\s+AND\s+/i).map((clause): RunFilter => {
    const match =
      /^\s*(?:(metrics|metric|params|param|tags|tag|attributes|attribute|attr|run)\.)?("[^"]+"|`[^`]+`|[\w.\-/]+)\s*(=|!=|>=|<=|>|<)\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?[\d.]+(?:[eE][+-]?\d+)?)\s*$/.exec(
        clause,
      );
    if (!match)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `filter: cannot read ${JSON.stringify(clause.trim())}; supported: metrics.k <op> number, params.k = 'v', tags.k = 'v', attributes.status = 'v', attributes.run_name = 'v', joined by AND`,
      );
    const kind = (match[1] ?? "attributes").replace(/s$/, "").replace(/^attr$|^run$/, "attribute");
    const key = match[2]!.replace(/^["`]|["`]$/g, "");
    const operator = OPERATORS[match[3]!]!;
    const literal = match[4]!;
    const quoted = /^['"]/.test(literal);
    const value = quoted ? literal.slice(1, -1).replace(/\\(.)/g, "$1") : Number(literal);
    if (kind === "metric") {
      if (quoted) throw new MlflowError("INVALID_PARAMETER_VALUE", `filter: metrics.${key} compares with a number`);
      return (run) => {
        const metric = run.data.metrics.find((item) => item.key === key);
        return metric !== undefined && typeof metric.value === "number" && operator(metric.value, value);
      };
    }
    if (!quoted || !["=", "!="].includes(match[3]!))
      throw new MlflowError("INVALID_PARAMETER_VALUE", `filter: ${kind}s compare with = or != and a quoted string`);
    if (kind === "param")
      return (run) => operator(run.data.params.find((item) => item.key === key)?.value ?? "", value);
    if (kind === "tag") return (run) => operator(run.data.tags.find((item) => item.key === key)?.value ?? "", value);
    if (key === "status") return (run) => operator(run.info.status, value);
    if (key === "run_name") return (run) => operator(run.info.run_name, value);
    if (key === "run_id") return (run) => operator(run.info.run_id, value);
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `filter: attribute ${key} is not supported (status, run_name, run_id)`,
    );
  });
}

export async function searchMlflowRuns(
  db: Db,
  teamId: string,
  input: { experimentIds: string[]; filter?: string; maxResults?: number; orderBy?: string[]; pageToken?: string },
) {
  const filters = runFilters(input.filter);
  const order = input.orderBy?.[0]?.trim();
  let direction: "asc" | "desc" = "desc";
  if (order) {
    const match = /^(?:attributes?\.)?(start_time|created)\s*(ASC|DESC)?$/i.exec(order);
    if (!match || (input.orderBy?.length ?? 0) > 1)
      throw new MlflowError("INVALID_PARAMETER_VALUE", "order_by: only start_time ASC or DESC is supported");
    direction = match[2]?.toLowerCase() === "asc" ? "asc" : "desc";
  }
  const experimentIds: string[] = [];
  for (const id of input.experimentIds.slice(0, 100)) {
    // An unknown experiment, or another team's, finds nothing, as in MLflow's own stores.
    const experiment = await getExperiment(db, teamId, id).catch(() => null);
    if (experiment) experimentIds.push(experiment.id);
  }
  const limit = Math.min(Math.max(input.maxResults ?? MAX_RUNS_PER_SEARCH, 1), MAX_RUNS_PER_SEARCH);
  let cursor = input.pageToken ? decodeToken(input.pageToken) : null;
  const runs: Awaited<ReturnType<typeof runProtos>> = [];
  if (!experimentIds.length) return { runs };
  // Bounded work: at most ten pages of runs are read to fill one filtered page.
  for (let pages = 0; pages < 10 && runs.length < limit; pages++) {
    const rows = await db.run.findMany({
      where: { experimentId: { in: experimentIds } },
      orderBy: [{ createdAt: direction }, { id: direction }],
      take: limit,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      select: runSelect,
    });
    for (const run of await runProtos(db, rows)) {
      cursor = run.info.run_id;
      if (filters.every((keep) => keep(run))) runs.push(run);
      if (runs.length === limit) break;
    }
    if (rows.length < limit) return { runs };
  }
  return { runs, ...(cursor ? { next_page_token: encodeToken(cursor) } : {}) };
}
