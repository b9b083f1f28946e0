import { randomBytes } from "node:crypto";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { Actor } from "../access/actor.ts";
import { MlflowError } from "./mlflow-error.ts";
import { decodeToken, encodeToken, getExperiment } from "./mlflow-experiments.ts";
import { readRun } from "./mlflow-runs.ts";

/**
 * MLflow 3's logged models (service.proto's LoggedModel; what `mlflow.<flavor>.log_model` creates):
 * one LoggedModel row each, in the experiment it was logged to, with the run that logged it as its
 * source run. The id is MLflow's form, "m-<32 hex>"; the artifact_uri is
 * mlflow-artifacts:/<experiment id>/models/<model id>/artifacts, which the artifact proxy
 * (server/http/mlflow-artifacts.ts) stores under the artifact root's <team id>/<model id>/ (model
 * ids never look like a run's cuid). Params and tags are {key: value} objects, at most
 * MAX_MODEL_ENTRIES of each per model and per request; a run's outputs (runs/outputs) are kept on
 * the run as environment.mlflowOutputs, [{model_id, step}], at most MAX_RUN_OUTPUTS.
 */

export const MAX_MODEL_ENTRIES = 100;
export const MAX_RUN_OUTPUTS = 100;
export const MAX_MODELS_PER_SEARCH = 1000;
export const MAX_SEARCH_EXPERIMENTS = 100;
const MAX_KEY = 250;
const MAX_PARAM_VALUE = 6000;
const MAX_TAG_VALUE = 8000;
const MAX_NAME = 250;
const MAX_MODEL_TYPE = 500;
const MAX_STEP = 2_147_483_647;

export type ModelStatus = "PENDING" | "READY" | "FAILED";
const TO_PROTO: Record<ModelStatus, string> = {
  PENDING: "LOGGED_MODEL_PENDING",
  READY: "LOGGED_MODEL_READY",
  FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
};
type KeyValue = { key: string; value: string };
type KeyActor = Extract<Actor, { kind: "apiKey" }>;

const modelSelect = {
  id: true,
  experimentId: true,
  sourceRunId: true,
  name: true,
  modelType: true,
  status: true,
  params: true,
  tags: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.LoggedModelSelect;
type ModelRow = Prisma.LoggedModelGetPayload<{ select: typeof modelSelect }>;

const asMap = (value: unknown): Record<string, string> =>
  value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, string>) : {};

export const modelArtifactUri = (experimentId: string, modelId: string) =>
  `mlflow-artifacts:/${experimentId}/models/${modelId}/artifacts`;

/** service.proto's LoggedModel as proto3 JSON. */
export function loggedModelProto(row: ModelRow) {
  return {
    info: {
      model_id: row.id,
      experiment_id: row.experimentId,
      name: row.name,
      artifact_uri: modelArtifactUri(row.experimentId, row.id),
      creation_timestamp_ms: row.createdAt.getTime(),
      last_updated_timestamp_ms: row.updatedAt.getTime(),
      status: TO_PROTO[row.status as ModelStatus] ?? "LOGGED_MODEL_STATUS_UNSPECIFIED",
      ...(row.sourceRunId ? { source_run_id: row.sourceRunId } : {}),
      ...(row.modelType ? { model_type: row.modelType } : {}),
      tags: Object.entries(asMap(row.tags)).map(([key, value]) => ({ key, value })),
    },
    data: {
      params: Object.entries(asMap(row.params)).map(([key, value]) => ({ key, value })),
      metrics: [],
    },
  };
}

function checked(what: "Param" | "Tag", entries: readonly KeyValue[]): Record<string, string> {
  if (entries.length > MAX_MODEL_ENTRIES)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `At most ${MAX_MODEL_ENTRIES} ${what.toLowerCase()}s a request (got ${entries.length})`,
    );
  const maxValue = what === "Param" ? MAX_PARAM_VALUE : MAX_TAG_VALUE;
  const map: Record<string, string> = {};
  for (const { key, value } of entries) {
    if (!key || key.length > MAX_KEY)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `${what} key must be 1 to ${MAX_KEY} characters (got ${key.length})`,
      );
    if (value.length > maxValue)
      throw new MlflowError("INVALID_PARAMETER_VALUE", `${what} '${key}': value is over ${maxValue} characters`);
    map[key] = value;
  }
  return map;
}

function merged(what: "params" | "tags", before: unknown, added: Record<string, string>) {
  const map = { ...asMap(before), ...added };
  if (Object.keys(map).length > MAX_MODEL_ENTRIES)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `A logged model holds at most ${MAX_MODEL_ENTRIES} ${what}`);
  return map;
}

const notFound = (modelId: string) =>
  new MlflowError("RESOURCE_DOES_NOT_EXIST", `Logged model with ID '${modelId}' not found.`);

/** A key bound to a command run reaches only the models that run logged. */
function inKeyReach(actor: KeyActor, row: { id: string; sourceRunId: string | null }): void {
  if (actor.runId !== undefined && row.sourceRunId !== actor.runId) throw notFound(row.id);
}

/** The team's model (another team's answers exactly like a missing one). */
export async function readLoggedModel(db: Db, actor: KeyActor, modelId: string): Promise<ModelRow> {
  if (!/^m-[0-9a-f]{32}$/.test(modelId)) throw notFound(modelId.slice(0, 100));
  const row = await db.loggedModel.findFirst({
    where: { id: modelId, experiment: { project: { teamId: actor.teamId } } },
    select: modelSelect,
  });
  if (!row) throw notFound(modelId);
  inKeyReach(actor, row);
  return row;
}

export async function createLoggedModel(
  db: Db,
  actor: KeyActor,
  input: {
    experimentId: string;
    name?: string | undefined;
    modelType?: string | undefined;
    sourceRunId?: string | undefined;
    params: KeyValue[];
    tags: KeyValue[];
  },
) {
  if (input.name !== undefined && input.name.length > MAX_NAME)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `name: at most ${MAX_NAME} characters`);
  if (input.modelType !== undefined && input.modelType.length > MAX_MODEL_TYPE)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `model_type: at most ${MAX_MODEL_TYPE} characters`);
  const params = checked("Param", input.params);
  const tags = checked("Tag", input.tags);
  if (actor.runId !== undefined && input.sourceRunId !== actor.runId)
    throw new MlflowError(
      "RESOURCE_DOES_NOT_EXIST",
      `Experiment not found: this key belongs to command run ${actor.runId}; log models from that run`,
    );
  const experiment = await getExperiment(db, actor.teamId, input.experimentId);
  if (input.sourceRunId) {
    const run = await readRun(db, actor.teamId, input.sourceRunId);
    if (run.experimentId !== experiment.id)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `source_run_id: run ${input.sourceRunId} is in another experiment than ${input.experimentId}`,
      );
  }
  const id = `m-${randomBytes(16).toString("hex")}`;
  const row = await db.loggedModel.create({
    data: {
      id,
      experimentId: experiment.id,
      sourceRunId: input.sourceRunId || null,
      name: input.name || id,
      modelType: input.modelType || null,
      status: "PENDING",
      params,
      tags,
    },
    select: modelSelect,
  });
  return loggedModelProto(row);
}

/** Reads the model under a row lock and writes what `change` returns, so concurrent changes lose nothing. */
async function updateModel(
  db: Db,
  actor: KeyActor,
  modelId: string,
  change: (row: ModelRow) => Prisma.LoggedModelUpdateInput,
) {
  await readLoggedModel(db, actor, modelId);
  return db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM "LoggedModel" WHERE id = ${modelId} FOR UPDATE`;
    const row = await tx.loggedModel.findUniqueOrThrow({ where: { id: modelId }, select: modelSelect });
    return loggedModelProto(
      await tx.loggedModel.update({ where: { id: modelId }, data: change(row), select: modelSelect }),
    );
  });
}

export const finalizeLoggedModel = (db: Db, actor: KeyActor, modelId: string, status: ModelStatus) =>
  updateModel(db, actor, modelId, () => ({ status }));

export const setLoggedModelTags = (db: Db, actor: KeyActor, modelId: string, tags: KeyValue[]) => {
  const added = checked("Tag", tags);
  return updateModel(db, actor, modelId, (row) => ({ tags: merged("tags", row.tags, added) }));
};

export const logLoggedModelParams = (db: Db, actor: KeyActor, modelId: string, params: KeyValue[]) => {
  const added = checked("Param", params);
  return updateModel(db, actor, modelId, (row) => ({ params: merged("params", row.params, added) }));
};

export const deleteLoggedModelTag = (db: Db, actor: KeyActor, modelId: string, key: string) =>
  updateModel(db, actor, modelId, (row) => {
    const tags = { ...asMap(row.tags) };
    if (!(key in tags))
      throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `No tag with key '${key}' on logged model ${modelId}`);
    delete tags[key];
    return { tags };
  });

/** MLflow's soft delete has no counterpart here (as for runs): refused after the model is found. */
export async function deleteLoggedModel(db: Db, actor: KeyActor, modelId: string): Promise<never> {
  await readLoggedModel(db, actor, modelId);
  throw new MlflowError(
    "NOT_IMPLEMENTED",
    `Logged model ${modelId} was not deleted: Scaleboard keeps every logged model, as it keeps every run`,
  );
}

/** Newest first, keyset-paginated; filters and orderings other than that are refused by name. */
export async function searchLoggedModels(
  db: Db,
  teamId: string,
  input: { experimentIds: string[]; maxResults: number; pageToken?: string | undefined },
) {
  if (input.experimentIds.length === 0)
    throw new MlflowError("INVALID_PARAMETER_VALUE", "experiment_ids: name at least one experiment");
  if (input.experimentIds.length > MAX_SEARCH_EXPERIMENTS)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `experiment_ids: at most ${MAX_SEARCH_EXPERIMENTS}`);
  const experimentIds: string[] = [];
  for (const id of input.experimentIds) experimentIds.push((await getExperiment(db, teamId, id)).id);
  let after: { createdAt: Date; id: string } | null = null;
  if (input.pageToken) {
    const id = decodeToken(input.pageToken);
    after = await db.loggedModel.findFirst({
      where: { id, experimentId: { in: experimentIds } },
      select: { createdAt: true, id: true },
    });
    if (!after) throw new MlflowError("INVALID_PARAMETER_VALUE", "page_token: not a token this server issued");
  }
  const rows = await db.loggedModel.findMany({
    where: {
      experimentId: { in: experimentIds },
      ...(after
        ? {
            OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
          }
        : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: input.maxResults + 1,
    select: modelSelect,
  });
  const page = rows.slice(0, input.maxResults);
  const last = page.at(-1);
  return {
    models: page.map(loggedModelProto),
    ...(rows.length > input.maxResults && last ? { next_page_token: encodeToken(last.id) } : {}),
  };
}

/** runs/outputs: the models a run produced, kept on the run (environment.mlflowOutputs), deduplicated. */
export async function logRunOutputs(
  db: Db,
  actor: KeyActor,
  runId: string,
  models: { model_id: string; step: number }[],
): Promise<void> {
  if (models.length > MAX_RUN_OUTPUTS)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `models: at most ${MAX_RUN_OUTPUTS} a request`);
  const run = await readRun(db, actor.teamId, runId);
  for (const model of models) {
    if (!Number.isInteger(model.step) || model.step < 0 || model.step > MAX_STEP)
      throw new MlflowError("INVALID_PARAMETER_VALUE", `models: step must be a whole number from 0 to ${MAX_STEP}`);
    const row = await readLoggedModel(db, actor, model.model_id);
    if (row.experimentId !== run.experimentId)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `models: logged model ${model.model_id} is in another experiment than run ${runId}`,
      );
  }
  await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM "Run" WHERE id = ${runId} FOR UPDATE`;
    const row = await tx.run.findUniqueOrThrow({ where: { id: runId }, select: { environment: true } });
    const environment = { ...((row.environment as Record<string, unknown> | null) ?? {}) };
    const outputs = Array.isArray(environment.mlflowOutputs)
      ? [...(environment.mlflowOutputs as { model_id: string; step: number }[])]
      : [];
    for (const model of models)
      if (!outputs.some((output) => output.model_id === model.model_id && output.step === model.step))
        outputs.push({ model_id: model.model_id, step: model.step });
    if (outputs.length > MAX_RUN_OUTPUTS)
      throw new MlflowError("INVALID_PARAMETER_VALUE", `A run holds at most ${MAX_RUN_OUTPUTS} model outputs`);
    await tx.run.update({
      where: { id: runId },
      data: { environment: { ...environment, mlflowOutputs: outputs } as Prisma.InputJsonValue },
      select: { id: true },
    });
  });
}
