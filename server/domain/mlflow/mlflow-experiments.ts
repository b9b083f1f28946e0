import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { slugify } from "../team/create-team.ts";
import { MlflowError } from "./mlflow-error.ts";

/**
 * MLflow experiments are Scaleboard experiments. An MLflow name "Project/Experiment" is that
 * project's experiment; a name without a slash (or starting with one) lives in the project
 * "MLflow". MLflow's default experiment, id "0" (what the client uses when no experiment is set),
 * is "MLflow/Default". Experiment ids are Scaleboard's experiment ids.
 */
export const DEFAULT_PROJECT = "MLflow";
export const DEFAULT_EXPERIMENT = "Default";
export const DEFAULT_EXPERIMENT_ID = "0";
const MAX_NAME = 100;

export type ExperimentName = { project: string; experiment: string };

export function splitExperimentName(name: string): ExperimentName {
  const trimmed = name.trim();
  const slash = trimmed.indexOf("/");
  const split =
    slash > 0 && slash < trimmed.length - 1
      ? { project: trimmed.slice(0, slash).trim(), experiment: trimmed.slice(slash + 1).trim() }
      : { project: DEFAULT_PROJECT, experiment: trimmed };
  if (!split.project || !split.experiment)
    throw new MlflowError("INVALID_PARAMETER_VALUE", "experiment name must not be empty");
  if (split.project.length > MAX_NAME || split.experiment.length > MAX_NAME)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `experiment name: project and experiment are at most ${MAX_NAME} characters each ("Project/Experiment")`,
    );
  return split;
}

export const experimentSelect = {
  id: true,
  name: true,
  description: true,
  createdAt: true,
  updatedAt: true,
  project: { select: { name: true } },
} satisfies Prisma.ExperimentSelect;
type ExperimentRow = Prisma.ExperimentGetPayload<{ select: typeof experimentSelect }>;

export function displayName(projectName: string, experimentName: string): string {
  return projectName === DEFAULT_PROJECT && !experimentName.includes("/")
    ? experimentName
    : `${projectName}/${experimentName}`;
}

/** The Experiment message of service.proto. */
export function experimentProto(row: ExperimentRow) {
  return {
    experiment_id: row.id,
    name: displayName(row.project.name, row.name),
    artifact_location: `mlflow-artifacts:/${row.id}`,
    lifecycle_stage: "active",
    last_update_time: row.updatedAt.getTime(),
    creation_time: row.createdAt.getTime(),
    tags: row.description ? [{ key: "mlflow.note.content", value: row.description }] : [],
  };
}

async function findByName(db: Db, teamId: string, name: ExperimentName): Promise<ExperimentRow | null> {
  return db.experiment.findFirst({
    where: { name: name.experiment, project: { teamId, slug: slugify(name.project) } },
    select: experimentSelect,
  });
}

export async function getExperimentByName(db: Db, teamId: string, name: string): Promise<ExperimentRow> {
  const found = await findByName(db, teamId, splitExperimentName(name));
  if (!found) throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `Could not find experiment with name '${name}'`);
  return found;
}

async function upsertExperiment(db: Db, teamId: string, name: ExperimentName, description?: string) {
  const project = await db.project.upsert({
    where: { teamId_slug: { teamId, slug: slugify(name.project) } },
    create: { teamId, name: name.project, slug: slugify(name.project) },
    update: {},
    select: { id: true },
  });
  return db.experiment.upsert({
    where: { projectId_name: { projectId: project.id, name: name.experiment } },
    create: { projectId: project.id, name: name.experiment, ...(description ? { description } : {}) },
    update: {},
    select: experimentSelect,
  });
}

/** Concurrent first uses of a project or experiment race on its unique key; the loser finds it on a second try. */
async function retryingUniqueRace<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: unknown }).code !== "P2002") throw error;
    return work();
  }
}

export async function createExperiment(
  db: Db,
  teamId: string,
  name: string,
  tags: { key: string; value: string }[] = [],
): Promise<ExperimentRow> {
  const split = splitExperimentName(name);
  if (await findByName(db, teamId, split))
    throw new MlflowError("RESOURCE_ALREADY_EXISTS", `Experiment '${name}' already exists.`);
  const note = tags.find((tag) => tag.key === "mlflow.note.content")?.value;
  return retryingUniqueRace(() => upsertExperiment(db, teamId, split, note));
}

/** An experiment by id in the team; "0" is MLflow's default experiment, created on first use. */
export async function getExperiment(db: Db, teamId: string, experimentId: string): Promise<ExperimentRow> {
  if (experimentId === DEFAULT_EXPERIMENT_ID)
    return retryingUniqueRace(() =>
      upsertExperiment(db, teamId, { project: DEFAULT_PROJECT, experiment: DEFAULT_EXPERIMENT }),
    );
  const found = await db.experiment.findFirst({
    where: { id: experimentId, project: { teamId } },
    select: experimentSelect,
  });
  if (!found)
    throw new MlflowError(
      "RESOURCE_DOES_NOT_EXIST",
      `Could not find experiment with ID ${JSON.stringify(experimentId)}`,
    );
  return found;
}

/**
 * Filters MLflow's search accepts that are answered here: `name = '...'`, `name LIKE '...'` and
 * `name ILIKE '...'` (with % and _), joined by AND. Anything else is refused by name rather than ignored.
 */
function experimentNameFilters(filter: string | undefined): ((name: string) => boolean)[] {
  if (!filter?.trim()) return [];
  return filter.split(/\s+AND\s+/i).map((clause) => {
    const match = /^\s*(?:attributes\.|attribute\.)?name\s*(=|!=|LIKE|ILIKE)\s*'((?:[^'\\]|\\.)*)'\s*$/i.exec(clause);
    if (!match)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `filter: only name = '...', name != '...', name LIKE '...' and name ILIKE '...' are supported (got ${JSON.stringify(clause.trim())})`,
      );
    const operator = match[1]!.toUpperCase();
    const value = match[2]!.replace(/\\(.)/g, "$1");
    if (operator === "=") return (name) => name === value;
    if (operator === "!=") return (name) => name !== value;
    const pattern = new RegExp(
      `^${value
        .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        .replaceAll("%", ".*")
        .replaceAll("_", ".")}$`,
      operator === "ILIKE" ? "is" : "s",
    );
    return (name) => pattern.test(name);
  });
}

export const MAX_SEARCH_RESULTS = 1000;

/** The team's experiments, newest first, a page at a time (page_token: the last id of the previous page). */
export async function searchExperiments(
  db: Db,
  teamId: string,
  input: { maxResults?: number; pageToken?: string; filter?: string },
): Promise<{ experiments: ReturnType<typeof experimentProto>[]; nextPageToken?: string }> {
  const filters = experimentNameFilters(input.filter);
  const limit = Math.min(Math.max(input.maxResults ?? MAX_SEARCH_RESULTS, 1), MAX_SEARCH_RESULTS);
  const after = input.pageToken ? decodeToken(input.pageToken) : null;
  const experiments: ReturnType<typeof experimentProto>[] = [];
  let cursor = after;
  // Bounded work: at most ten pages of rows are read to fill one filtered page.
  for (let pages = 0; pages < 10 && experiments.length < limit; pages++) {
    const rows = await db.experiment.findMany({
      where: { project: { teamId } },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      select: experimentSelect,
    });
    for (const row of rows) {
      cursor = row.id;
      const proto = experimentProto(row);
      if (filters.every((keep) => keep(proto.name))) experiments.push(proto);
      if (experiments.length === limit) break;
    }
    if (rows.length < limit) return { experiments };
  }
  return { experiments, ...(cursor ? { nextPageToken: encodeToken(cursor) } : {}) };
}

export function encodeToken(id: string): string {
  return Buffer.from(JSON.stringify({ after: id })).toString("base64url");
}

export function decodeToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { after?: unknown };
    if (typeof parsed.after === "string" && parsed.after.length <= 64) return parsed.after;
  } catch {
    // answered below
  }
  throw new MlflowError("INVALID_PARAMETER_VALUE", "page_token: not a token this server issued");
}

/**
 * experiments/update: a rename within the experiment's project ("Project/New name", or a bare new
 * name for an experiment of the MLflow project). An MLflow name also names the project, and moving
 * an experiment with its runs to another project is not something Scaleboard does, so such a
 * rename is refused, as is a name another experiment of the project holds.
 */
export async function renameExperiment(db: Db, teamId: string, experimentId: string, newName: string) {
  const experiment = await getExperiment(db, teamId, experimentId);
  const split = splitExperimentName(newName);
  const project = experiment.project.name;
  const target = split.project === DEFAULT_PROJECT && !newName.includes("/") ? project : split.project;
  if (slugify(target) !== slugify(project))
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `new_name: '${newName}' would move experiment ${experiment.id} from project '${project}' to '${target}'; Scaleboard renames experiments within their project only (use '${project}/<new name>')`,
    );
  if (split.experiment === experiment.name) return;
  if (await findByName(db, teamId, { project, experiment: split.experiment }))
    throw new MlflowError("RESOURCE_ALREADY_EXISTS", `Experiment '${newName}' already exists.`);
  await db.experiment.update({ where: { id: experiment.id }, data: { name: split.experiment }, select: { id: true } });
}

/**
 * experiments/set-experiment-tag: `mlflow.note.content` is the experiment's description. Scaleboard
 * experiments hold no other tags, so any other key is refused by name rather than dropped.
 */
export async function setExperimentTag(db: Db, teamId: string, experimentId: string, key: string, value: string) {
  const experiment = await getExperiment(db, teamId, experimentId);
  if (key !== "mlflow.note.content")
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `key: experiment tag '${key}' cannot be stored; Scaleboard experiments keep only mlflow.note.content (their description). Tag runs instead (mlflow.set_tag)`,
    );
  if (value.length > 10_000)
    throw new MlflowError("INVALID_PARAMETER_VALUE", "value: a description is at most 10,000 characters");
  await db.experiment.update({
    where: { id: experiment.id },
    data: { description: value || null },
    select: { id: true },
  });
}
