import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { MlflowError } from "./mlflow-error.ts";

/**
 * A run's datasets (mlflow.log_input, autolog's training and evaluation data: service.proto's
 * LogInputs) are kept in the run's config under `datasets`, so the run page's "Resolved config"
 * and the compare page's config diff show which data each run saw. One entry per (name, digest);
 * logging the same dataset again updates its tags. The schema, profile and source are kept to
 * MAX_DATASET_TEXT characters each (a truncated one says so); a run holds at most MAX_DATASETS_PER_RUN.
 */
export const MAX_DATASETS_PER_RUN = 50;
export const MAX_DATASET_TEXT = 2000;
const MAX_DATASET_NAME = 500;
const MAX_DATASET_DIGEST = 64;
const MAX_SOURCE_TYPE = 100;
const MAX_INPUT_TAGS = 20;
const MAX_INPUT_TAG_KEY = 255;
const MAX_INPUT_TAG_VALUE = 500;

export type DatasetInput = {
  tags: { key: string; value: string }[];
  dataset: {
    name: string;
    digest: string;
    source_type: string;
    source: string;
    schema?: string | undefined;
    profile?: string | undefined;
  };
};

/** A dataset as the run's config keeps it. */
export type StoredDataset = {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
  tags?: Record<string, string>;
};

function bounded(text: string): string {
  return text.length <= MAX_DATASET_TEXT
    ? text
    : `${text.slice(0, MAX_DATASET_TEXT)}… (truncated from ${text.length} characters)`;
}

function checkedDataset(input: DatasetInput, index: number): StoredDataset {
  const { dataset } = input;
  const field = (name: string) => `datasets.${index}.dataset.${name}`;
  const need = (name: string, value: string, max: number) => {
    if (!value) throw new MlflowError("INVALID_PARAMETER_VALUE", `${field(name)}: missing value`);
    if (value.length > max)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `${field(name)}: at most ${max} characters (got ${value.length})`,
      );
  };
  need("name", dataset.name, MAX_DATASET_NAME);
  need("digest", dataset.digest, MAX_DATASET_DIGEST);
  need("source_type", dataset.source_type, MAX_SOURCE_TYPE);
  if (input.tags.length > MAX_INPUT_TAGS)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `datasets.${index}.tags: at most ${MAX_INPUT_TAGS} tags`);
  const tags: Record<string, string> = {};
  for (const tag of input.tags) {
    if (!tag.key || tag.key.length > MAX_INPUT_TAG_KEY || tag.value.length > MAX_INPUT_TAG_VALUE)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `datasets.${index}.tags: a key is 1 to ${MAX_INPUT_TAG_KEY} characters and a value at most ${MAX_INPUT_TAG_VALUE}`,
      );
    tags[tag.key] = tag.value;
  }
  return {
    name: dataset.name,
    digest: dataset.digest,
    source_type: dataset.source_type,
    source: bounded(dataset.source),
    ...(dataset.schema ? { schema: bounded(dataset.schema) } : {}),
    ...(dataset.profile ? { profile: bounded(dataset.profile) } : {}),
    ...(Object.keys(tags).length ? { tags } : {}),
  };
}

export function storedDatasets(config: unknown): StoredDataset[] {
  const datasets = (config as { datasets?: unknown } | null)?.datasets;
  return Array.isArray(datasets)
    ? datasets.filter(
        (item): item is StoredDataset =>
          item !== null && typeof item === "object" && typeof (item as StoredDataset).name === "string",
      )
    : [];
}

/** RunInputs of service.proto for a run's config. */
export function runInputsProto(config: unknown) {
  const datasets = storedDatasets(config);
  if (!datasets.length) return {};
  return {
    dataset_inputs: datasets.map(({ tags, ...dataset }) => ({
      tags: Object.entries(tags ?? {}).map(([key, value]) => ({ key, value })),
      dataset,
    })),
  };
}

/** Merges datasets into the run's config under a row lock (concurrent log_input calls lose nothing). */
export async function mergeDatasetInputs(db: Db, runId: string, inputs: DatasetInput[]): Promise<void> {
  if (inputs.length > MAX_DATASETS_PER_RUN)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `datasets: at most ${MAX_DATASETS_PER_RUN} per request (got ${inputs.length})`,
    );
  const incoming = inputs.map(checkedDataset);
  if (!incoming.length) return;
  await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM "Run" WHERE id = ${runId} FOR UPDATE`;
    const row = await tx.run.findUniqueOrThrow({ where: { id: runId }, select: { config: true } });
    const config = { ...((row.config as Record<string, unknown> | null) ?? {}) };
    const datasets = storedDatasets(config);
    for (const dataset of incoming) {
      const at = datasets.findIndex((item) => item.name === dataset.name && item.digest === dataset.digest);
      if (at < 0) datasets.push(dataset);
      else datasets[at] = { ...dataset, tags: { ...(datasets[at]!.tags ?? {}), ...(dataset.tags ?? {}) } };
    }
    if (datasets.length > MAX_DATASETS_PER_RUN)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `A run holds at most ${MAX_DATASETS_PER_RUN} datasets (this request would make ${datasets.length})`,
      );
    await tx.run.update({
      where: { id: runId },
      data: { config: { ...config, datasets } as Prisma.InputJsonValue },
      select: { id: true },
    });
  });
}
