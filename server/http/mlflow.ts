import { randomUUID } from "node:crypto";
import { z, ZodError, type ZodType } from "zod";
import type { Db } from "../db.ts";
import type { Actor } from "../domain/access/actor.ts";
import { assertRunInKeyReach } from "../domain/access/resource-access.ts";
import { verifyApiKeyForUse } from "../domain/api-key/verify-api-key.ts";
import { AppError } from "../domain/app-error.ts";
import { MlflowError, mlflowCodeOf, mlflowErrorResponse } from "../domain/mlflow/mlflow-error.ts";
import {
  createExperiment,
  experimentProto,
  getExperiment,
  getExperimentByName,
  renameExperiment,
  searchExperiments,
  setExperimentTag,
} from "../domain/mlflow/mlflow-experiments.ts";
import { getMlflowMetricHistoryBulkInterval } from "../domain/mlflow/mlflow-history-bulk.ts";
import {
  createLoggedModel,
  deleteLoggedModel,
  deleteLoggedModelTag,
  finalizeLoggedModel,
  loggedModelProto,
  logLoggedModelParams,
  logRunOutputs,
  MAX_MODELS_PER_SEARCH,
  readLoggedModel,
  searchLoggedModels,
  setLoggedModelTags,
} from "../domain/mlflow/mlflow-logged-models.ts";
import {
  createMlflowRun,
  deleteMlflowRun,
  deleteMlflowTag,
  getMlflowMetricHistory,
  getMlflowRun,
  logMlflowBatch,
  logMlflowInputs,
  restoreMlflowRun,
  searchMlflowRuns,
  updateMlflowRun,
} from "../domain/mlflow/mlflow-runs.ts";
import {
  mayHoldUnstorableText,
  pathToUnstorableText,
  unstorableTextMessage,
} from "../domain/validation/unstorable-text.ts";
import { requestLogger } from "../log.ts";
import { databaseUnavailable } from "./database-unavailable.ts";
import { parseLenientJson } from "./lenient-json.ts";

/**
 * /api/2.0/mlflow/*: the part of MLflow's tracking REST API (mlflow/protos/service.proto) that the
 * mlflow client's start_run, log_param(s), log_metric(s), set_tag(s), log_artifact and end_run use,
 * plus reads (get, search, metric history), datasets (log_input), experiment rename and notes, and
 * runs/delete (refused: runs are never deleted) and runs/restore, and MLflow 3's logged models
 * (logged-models/*, runs/outputs: what mlflow.<flavor>.log_model sends). MLFLOW_TRACKING_URI=http://host:3000 and
 * MLFLOW_TRACKING_TOKEN=<API key> (sent as Authorization: Bearer) point a script here. Answers are
 * proto3 JSON as an MLflow server writes it; errors are { error_code, message } with MLflow's statuses.
 * The mapping to projects, experiments and runs is documented in server/domain/mlflow/.
 */

type KeyActor = Extract<Actor, { kind: "apiKey" }>;

/** int64 fields arrive as numbers or, from some protobuf JSON writers, as decimal strings. */
const ZInt64 = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/, "expected a whole number")
    .transform(Number),
]);
/** double fields: a number, or protobuf JSON's "NaN", "Infinity", "-Infinity". */
const ZDouble = z.union([
  z.number(),
  z
    .enum(["NaN", "Infinity", "-Infinity", "inf", "-inf"])
    .transform((value) =>
      value === "NaN" ? Number.NaN : value.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY,
    ),
]);
const ZKeyValue = z.object({ key: z.string(), value: z.string().default("") });
const ZRunId = z
  .object({ run_id: z.string().optional(), run_uuid: z.string().optional() })
  .transform((body, context) => {
    const runId = body.run_id || body.run_uuid;
    if (!runId) {
      context.addIssue({ code: "custom", path: ["run_id"], message: "Missing value for required parameter 'run_id'" });
      return z.NEVER;
    }
    return runId;
  });
const ZMetric = z.object({
  key: z.string(),
  value: ZDouble,
  timestamp: ZInt64.default(0),
  step: ZInt64.default(0),
});
const ZMaxResults = ZInt64.pipe(z.number().int().min(1).max(50_000)).optional();
/** ViewType: Scaleboard has no deleted runs or experiments, so DELETED_ONLY finds none and ALL is ACTIVE_ONLY. */
const ZViewType = z
  .union([z.enum(["ACTIVE_ONLY", "DELETED_ONLY", "ALL", "1", "2", "3"]), z.literal(1), z.literal(2), z.literal(3)])
  .transform((view) => (view === "DELETED_ONLY" || String(view) === "2" ? "deletedOnly" : "active"))
  .optional();
const ZStatus = z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]);
/** LoggedModelStatus by name or number; finalize sets READY or FAILED. */
const ZModelStatus = z
  .union([
    z.enum(["LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED", "READY", "FAILED", "2", "3"]),
    z.literal(2),
    z.literal(3),
  ])
  .transform((status) =>
    /^(LOGGED_MODEL_)?READY$|^2$/.test(String(status)) ? ("READY" as const) : ("FAILED" as const),
  );
/** A model's params and tags: 100 a request is enforced by the domain with a message naming it; this bounds parsing. */
const ZModelEntries = z.array(ZKeyValue).max(10_000).default([]);
const ZModelId = z.string().min(1, "Missing value for required parameter 'model_id'").max(100);

const schemas = {
  getByName: z.object({ experiment_name: z.string().min(1, "Missing value for required parameter 'experiment_name'") }),
  createExperiment: z.object({
    name: z.string().min(1, "Missing value for required parameter 'name'"),
    artifact_location: z.string().optional(),
    tags: z.array(ZKeyValue).max(100).default([]),
  }),
  getExperiment: z.object({ experiment_id: z.string().min(1, "Missing value for required parameter 'experiment_id'") }),
  searchExperiments: z.object({
    max_results: ZMaxResults,
    page_token: z.string().optional(),
    filter: z.string().max(10_000).optional(),
    view_type: ZViewType,
    order_by: z.unknown().optional(),
  }),
  createRun: z.object({
    experiment_id: z.string().default("0"),
    user_id: z.string().max(256).optional(),
    start_time: ZInt64.optional(),
    tags: z.array(ZKeyValue).max(1000).default([]),
    run_name: z.string().max(250).optional(),
  }),
  updateRun: z.object({
    status: ZStatus.optional(),
    end_time: ZInt64.optional(),
    run_name: z.string().max(250).optional(),
  }),
  logMetric: ZMetric,
  logParam: z.object({ key: z.string(), value: z.string() }),
  setTag: z.object({ key: z.string(), value: z.string() }),
  deleteTag: z.object({ key: z.string() }),
  logBatch: z.object({
    metrics: z.array(ZMetric).default([]),
    params: z.array(ZKeyValue).default([]),
    tags: z.array(ZKeyValue).default([]),
  }),
  searchRuns: z.object({
    experiment_ids: z.union([z.array(z.string()), z.string().transform((id) => [id])]).default([]),
    filter: z.string().max(10_000).optional(),
    max_results: ZMaxResults,
    order_by: z.union([z.array(z.string()), z.string().transform((order) => [order])]).optional(),
    page_token: z.string().optional(),
    run_view_type: ZViewType,
  }),
  logInputs: z.object({
    datasets: z
      .array(
        z.object({
          tags: z.array(ZKeyValue).default([]),
          dataset: z.object({
            name: z.string(),
            digest: z.string(),
            source_type: z.string(),
            source: z.string().default(""),
            schema: z.string().optional(),
            profile: z.string().optional(),
          }),
        }),
      )
      .default([]),
    models: z
      .array(z.unknown())
      .max(0, "logged models as a run's inputs (MLflow 3's model inputs) are not supported by Scaleboard")
      .default([]),
  }),
  setExperimentTag: z.object({
    experiment_id: z.string().min(1, "Missing value for required parameter 'experiment_id'"),
    key: z.string().min(1, "Missing value for required parameter 'key'"),
    value: z.string().default(""),
  }),
  updateExperiment: z.object({
    experiment_id: z.string().min(1, "Missing value for required parameter 'experiment_id'"),
    new_name: z.string().min(1, "Missing value for required parameter 'new_name'").optional(),
  }),
  metricHistoryBulkInterval: z.object({
    run_ids: z.union([
      z.array(z.string().min(1)),
      z
        .string()
        .min(1)
        .transform((id) => [id]),
    ]),
    metric_key: z.string().min(1, "Missing value for required parameter 'metric_key'").max(200),
    start_step: ZInt64.optional(),
    end_step: ZInt64.optional(),
    max_results: ZInt64.optional(),
  }),
  createLoggedModel: z.object({
    experiment_id: z.string().min(1, "Missing value for required parameter 'experiment_id'"),
    name: z.string().optional(),
    model_type: z.string().optional(),
    source_run_id: z.string().max(100).optional(),
    params: ZModelEntries,
    tags: ZModelEntries,
  }),
  modelId: z.object({ model_id: ZModelId }),
  finalizeLoggedModel: z.object({ model_id: ZModelId, status: ZModelStatus }),
  modelTags: z.object({ model_id: ZModelId, tags: ZModelEntries }),
  modelParams: z.object({ model_id: ZModelId, params: ZModelEntries }),
  modelTag: z.object({ model_id: ZModelId, key: z.string().min(1).max(1000) }),
  searchLoggedModels: z.object({
    experiment_ids: z
      .union([z.array(z.string()), z.string().transform((id) => [id])])
      .default([])
      .pipe(z.array(z.string()).min(1, "Missing value for required parameter 'experiment_ids'")),
    filter: z.string().max(10_000).optional(),
    datasets: z.array(z.unknown()).optional(),
    max_results: ZInt64.pipe(z.number().int().min(1).max(MAX_MODELS_PER_SEARCH)).optional(),
    order_by: z.array(z.unknown()).optional(),
    page_token: z.string().max(1000).optional(),
  }),
  logOutputs: z.object({
    models: z
      .array(z.object({ model_id: ZModelId, step: ZInt64.default(0) }))
      .max(10_000)
      .default([]),
  }),
  metricHistory: z.object({
    metric_key: z.string().min(1, "Missing value for required parameter 'metric_key'"),
    max_results: ZMaxResults,
    page_token: z.string().optional(),
  }),
};

function ok(body: unknown): Response {
  return Response.json(body, { headers: { "cache-control": "no-store" } });
}

/** The request's fields: the JSON body of a POST, the query string of a GET (repeated names become arrays). */
async function readFields(request: Request): Promise<unknown> {
  if (request.method === "GET") {
    const fields: Record<string, string | string[]> = {};
    for (const [name, value] of new URL(request.url).searchParams) {
      const before = fields[name];
      fields[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
    }
    return fields;
  }
  const text = await request.text();
  let parsed: unknown;
  try {
    parsed = text.trim() ? parseLenientJson(text) : {};
  } catch (error) {
    throw new MlflowError("MALFORMED_REQUEST", `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new MlflowError("INVALID_PARAMETER_VALUE", "The body must be a JSON object");
  const unstorable = mayHoldUnstorableText(text) ? pathToUnstorableText(parsed) : null;
  if (unstorable !== null) throw new MlflowError("INVALID_PARAMETER_VALUE", unstorableTextMessage(unstorable));
  return parsed;
}

async function authenticate(db: Db, request: Request, readOnly: boolean): Promise<KeyActor> {
  const header = request.headers.get("authorization") ?? "";
  if (!header.toLowerCase().startsWith("bearer "))
    throw new AppError(
      "UNAUTHORIZED",
      "Send an API key: set MLFLOW_TRACKING_TOKEN=<key> (Authorization: Bearer <key>); create one on the Team page",
    );
  const actor = await verifyApiKeyForUse(db, header.slice(7).trim(), "ingest", readOnly ? "viewer" : "editor");
  if (!actor) throw new AppError("UNAUTHORIZED", "Invalid, expired or revoked API key");
  return actor;
}

/** Endpoints by "METHOD path"; `reads` marks those a viewer's key may call. */
type Endpoint = {
  reads?: boolean;
  run?: boolean;
  call: (db: Db, actor: KeyActor, fields: unknown) => Promise<unknown>;
};

const parse = <T>(schema: ZodType<T>, fields: unknown): T => schema.parse(fields);
const runIdOf = (actor: KeyActor, fields: unknown): string => {
  const runId = ZRunId.parse(fields);
  assertRunInKeyReach(actor, runId, `Run with id=${runId} not found`);
  return runId;
};
/** A command run's key (bound to its run) reaches that run only: experiments and other runs are missing to it. */
const refuseRunBoundKey = (actor: KeyActor, what: string) => {
  if (actor.runId !== undefined)
    throw new MlflowError(
      "RESOURCE_DOES_NOT_EXIST",
      `${what} not found: this key belongs to command run ${actor.runId}; set MLFLOW_RUN_ID=${actor.runId} to log to it`,
    );
};

const ENDPOINTS: Record<string, Endpoint> = {
  "GET experiments/get-by-name": {
    reads: true,
    call: async (db, actor, fields) => {
      refuseRunBoundKey(actor, "Experiment");
      const { experiment_name } = parse(schemas.getByName, fields);
      return { experiment: experimentProto(await getExperimentByName(db, actor.teamId, experiment_name)) };
    },
  },
  "POST experiments/create": {
    call: async (db, actor, fields) => {
      refuseRunBoundKey(actor, "Experiment");
      const body = parse(schemas.createExperiment, fields);
      return { experiment_id: (await createExperiment(db, actor.teamId, body.name, body.tags)).id };
    },
  },
  "GET experiments/get": {
    reads: true,
    call: async (db, actor, fields) => {
      refuseRunBoundKey(actor, "Experiment");
      const { experiment_id } = parse(schemas.getExperiment, fields);
      return { experiment: experimentProto(await getExperiment(db, actor.teamId, experiment_id)) };
    },
  },
  "POST experiments/set-experiment-tag": {
    call: async (db, actor, fields) => {
      refuseRunBoundKey(actor, "Experiment");
      const body = parse(schemas.setExperimentTag, fields);
      await setExperimentTag(db, actor.teamId, body.experiment_id, body.key, body.value);
      return {};
    },
  },
  "POST experiments/update": {
    call: async (db, actor, fields) => {
      refuseRunBoundKey(actor, "Experiment");
      const body = parse(schemas.updateExperiment, fields);
      if (body.new_name) await renameExperiment(db, actor.teamId, body.experiment_id, body.new_name);
      else await getExperiment(db, actor.teamId, body.experiment_id);
      return {};
    },
  },
  "POST experiments/search": { reads: true, call: (db, actor, fields) => experimentsSearch(db, actor, fields) },
  "GET experiments/search": { reads: true, call: (db, actor, fields) => experimentsSearch(db, actor, fields) },
  "POST runs/create": {
    call: async (db, actor, fields) => {
      if (actor.runId !== undefined)
        throw new AppError(
          "FORBIDDEN",
          `This key belongs to command run ${actor.runId} and logs to that run only; set MLFLOW_RUN_ID=${actor.runId}`,
        );
      const body = parse(schemas.createRun, fields);
      const run = await createMlflowRun(db, actor.teamId, {
        experimentId: body.experiment_id,
        tags: body.tags,
        ...(body.user_id ? { userId: body.user_id } : {}),
        ...(body.start_time !== undefined ? { startTime: body.start_time } : {}),
        ...(body.run_name ? { runName: body.run_name } : {}),
      });
      return { run };
    },
  },
  "GET runs/get": {
    reads: true,
    call: async (db, actor, fields) => ({ run: await getMlflowRun(db, actor.teamId, runIdOf(actor, fields)) }),
  },
  "POST runs/update": {
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      const body = parse(schemas.updateRun, fields);
      const runInfo = await updateMlflowRun(db, actor.teamId, runId, {
        ...(body.status ? { status: body.status } : {}),
        ...(body.end_time !== undefined ? { endTime: body.end_time } : {}),
        ...(body.run_name ? { runName: body.run_name } : {}),
      });
      return { run_info: runInfo };
    },
  },
  "POST runs/search": {
    reads: true,
    call: async (db, actor, fields) => {
      refuseRunBoundKey(actor, "Experiment");
      const body = parse(schemas.searchRuns, fields);
      if (body.run_view_type === "deletedOnly") return { runs: [] };
      return searchMlflowRuns(db, actor.teamId, {
        experimentIds: body.experiment_ids,
        ...(body.filter ? { filter: body.filter } : {}),
        ...(body.max_results ? { maxResults: body.max_results } : {}),
        ...(body.order_by ? { orderBy: body.order_by } : {}),
        ...(body.page_token ? { pageToken: body.page_token } : {}),
      });
    },
  },
  "POST runs/log-metric": {
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      const metric = parse(schemas.logMetric, fields);
      await logMlflowBatch(db, actor.teamId, runId, { metrics: [metric], params: [], tags: [] });
      return {};
    },
  },
  "POST runs/log-parameter": {
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      const param = parse(schemas.logParam, fields);
      await logMlflowBatch(db, actor.teamId, runId, { metrics: [], params: [param], tags: [] });
      return {};
    },
  },
  "POST runs/set-tag": {
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      const tag = parse(schemas.setTag, fields);
      await logMlflowBatch(db, actor.teamId, runId, { metrics: [], params: [], tags: [tag] });
      return {};
    },
  },
  "POST runs/delete-tag": {
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      await deleteMlflowTag(db, actor.teamId, runId, parse(schemas.deleteTag, fields).key);
      return {};
    },
  },
  "POST runs/log-batch": {
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      await logMlflowBatch(db, actor.teamId, runId, parse(schemas.logBatch, fields));
      return {};
    },
  },
  "POST runs/log-inputs": {
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      await logMlflowInputs(db, actor.teamId, runId, parse(schemas.logInputs, fields).datasets);
      return {};
    },
  },
  "POST runs/delete": {
    call: async (db, actor, fields) => deleteMlflowRun(db, actor.teamId, runIdOf(actor, fields)),
  },
  "POST runs/restore": {
    call: async (db, actor, fields) => {
      await restoreMlflowRun(db, actor.teamId, runIdOf(actor, fields));
      return {};
    },
  },
  "POST logged-models": {
    call: async (db, actor, fields) => {
      const body = parse(schemas.createLoggedModel, fields);
      const model = await createLoggedModel(db, actor, {
        experimentId: body.experiment_id,
        name: body.name,
        modelType: body.model_type,
        sourceRunId: body.source_run_id,
        params: body.params,
        tags: body.tags,
      });
      return { model };
    },
  },
  "GET logged-models/{id}": {
    reads: true,
    call: async (db, actor, fields) => ({
      model: loggedModelProto(await readLoggedModel(db, actor, parse(schemas.modelId, fields).model_id)),
    }),
  },
  "PATCH logged-models/{id}": {
    call: async (db, actor, fields) => {
      const body = parse(schemas.finalizeLoggedModel, fields);
      return { model: await finalizeLoggedModel(db, actor, body.model_id, body.status) };
    },
  },
  "DELETE logged-models/{id}": {
    call: (db, actor, fields) => deleteLoggedModel(db, actor, parse(schemas.modelId, fields).model_id),
  },
  "PATCH logged-models/{id}/tags": {
    call: async (db, actor, fields) => {
      const body = parse(schemas.modelTags, fields);
      await setLoggedModelTags(db, actor, body.model_id, body.tags);
      return {};
    },
  },
  "DELETE logged-models/{id}/tags/{key}": {
    call: async (db, actor, fields) => {
      const body = parse(schemas.modelTag, fields);
      await deleteLoggedModelTag(db, actor, body.model_id, body.key);
      return {};
    },
  },
  "POST logged-models/{id}/params": {
    call: async (db, actor, fields) => {
      const body = parse(schemas.modelParams, fields);
      await logLoggedModelParams(db, actor, body.model_id, body.params);
      return {};
    },
  },
  "POST logged-models/search": {
    reads: true,
    call: async (db, actor, fields) => {
      refuseRunBoundKey(actor, "Experiment");
      const body = parse(schemas.searchLoggedModels, fields);
      const unsupported = [
        ...(body.filter?.trim() ? ["filter"] : []),
        ...(body.order_by?.length ? ["order_by"] : []),
        ...(body.datasets?.length ? ["datasets"] : []),
      ];
      if (unsupported.length)
        throw new MlflowError(
          "INVALID_PARAMETER_VALUE",
          `logged-models/search: ${unsupported.join(", ")} not supported by Scaleboard (models are listed newest first)`,
        );
      return searchLoggedModels(db, actor.teamId, {
        experimentIds: body.experiment_ids,
        maxResults: body.max_results ?? 100,
        pageToken: body.page_token,
      });
    },
  },
  "POST runs/outputs": {
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      await logRunOutputs(db, actor, runId, parse(schemas.logOutputs, fields).models);
      return {};
    },
  },
  "GET metrics/get-history-bulk-interval": {
    reads: true,
    call: async (db, actor, fields) => {
      const query = parse(schemas.metricHistoryBulkInterval, fields);
      for (const runId of query.run_ids) assertRunInKeyReach(actor, runId, `Run with id=${runId} not found`);
      return getMlflowMetricHistoryBulkInterval(db, actor.teamId, {
        runIds: query.run_ids,
        key: query.metric_key,
        ...(query.start_step !== undefined ? { startStep: query.start_step } : {}),
        ...(query.end_step !== undefined ? { endStep: query.end_step } : {}),
        ...(query.max_results !== undefined ? { maxResults: query.max_results } : {}),
      });
    },
  },
  "GET metrics/get-history": {
    reads: true,
    call: async (db, actor, fields) => {
      const runId = runIdOf(actor, fields);
      const query = parse(schemas.metricHistory, fields);
      return getMlflowMetricHistory(db, actor.teamId, runId, {
        key: query.metric_key,
        ...(query.max_results ? { maxResults: query.max_results } : {}),
        ...(query.page_token ? { pageToken: query.page_token } : {}),
      });
    },
  },
};

async function experimentsSearch(db: Db, actor: KeyActor, fields: unknown) {
  refuseRunBoundKey(actor, "Experiment");
  const body = parse(schemas.searchExperiments, fields);
  if (body.view_type === "deletedOnly") return { experiments: [] };
  const page = await searchExperiments(db, actor.teamId, {
    ...(body.max_results ? { maxResults: body.max_results } : {}),
    ...(body.page_token ? { pageToken: body.page_token } : {}),
    ...(body.filter ? { filter: body.filter } : {}),
  });
  return { experiments: page.experiments, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) };
}

/**
 * The endpoint a path names: a fixed path, or logged-models/{id}[/tags[/{key}]|/params] with the
 * id (and tag key) from the path as the request's model_id (and key).
 */
function routeOf(method: string, path: readonly string[]): { endpoint?: Endpoint; pathFields: Record<string, string> } {
  const fixed = ENDPOINTS[`${method} ${path.join("/")}`];
  if (fixed) return { endpoint: fixed, pathFields: {} };
  const [first, modelId, sub, ...key] = path;
  if (first !== "logged-models" || !modelId || modelId === "search") return { pathFields: {} };
  const pattern =
    sub === undefined
      ? "logged-models/{id}"
      : sub === "tags" && key.length > 0
        ? "logged-models/{id}/tags/{key}"
        : key.length === 0 && (sub === "tags" || sub === "params")
          ? `logged-models/{id}/${sub}`
          : null;
  const endpoint = pattern ? ENDPOINTS[`${method} ${pattern}`] : undefined;
  return {
    ...(endpoint ? { endpoint } : {}),
    pathFields: { model_id: modelId, ...(key.length ? { key: key.join("/") } : {}) },
  };
}

export async function handleMlflow(db: Db, request: Request, path: readonly string[]): Promise<Response> {
  const route = path.join("/");
  try {
    const { endpoint, pathFields } = routeOf(request.method, path);
    if (!endpoint)
      return mlflowErrorResponse(
        "ENDPOINT_NOT_FOUND",
        `No such endpoint: ${request.method} /api/2.0/mlflow/${route} (Scaleboard answers the tracking subset: experiments, runs, metrics/get-history and get-history-bulk-interval, logged models; not traces or the model registry)`,
      );
    const actor = await authenticate(db, request, endpoint.reads === true);
    const fields = await readFields(request);
    return ok(await endpoint.call(db, actor, { ...(fields as Record<string, unknown>), ...pathFields }));
  } catch (error) {
    if (error instanceof ZodError) {
      const issue = error.issues[0];
      const field = issue?.path.map(String).join(".") || "body";
      return mlflowErrorResponse(
        "INVALID_PARAMETER_VALUE",
        `Invalid value for ${field}: ${issue?.message ?? "invalid"}`,
      );
    }
    if (error instanceof AppError) return mlflowErrorResponse(mlflowCodeOf(error), error.message);
    if (databaseUnavailable(error))
      return mlflowErrorResponse(
        "TEMPORARILY_UNAVAILABLE",
        "The database is unavailable (restarting?); retry in a few seconds",
        {
          "retry-after": "2",
        },
      );
    const requestId = randomUUID();
    requestLogger(requestId).error(
      { err: error, method: request.method, path: `/api/2.0/mlflow/${route}` },
      `api/2.0/mlflow ${request.method} ${route} failed`,
    );
    return mlflowErrorResponse(
      "INTERNAL_ERROR",
      `Internal error (request ${requestId}); the server log has the details`,
    );
  }
}
