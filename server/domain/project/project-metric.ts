import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { AppError } from "../app-error.ts";

import { DEFAULT_METRIC } from "./default-metric.ts";

export { DEFAULT_METRIC };

export const ZMetricGoal = z.enum(["min", "max"]);
export const ZProjectMetric = z.object({
  name: z.string().trim().min(1, "Name the metric, e.g. val_loss").max(200),
  goal: ZMetricGoal,
});
export type ProjectMetric = z.infer<typeof ZProjectMetric>;

/** The metric an experiment's views default to, and where that choice came from. */
export type ResolvedMetric = ProjectMetric & { source: "spec" | "project" | "default" };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * A top-level `metric:` key in a spec's YAML (a line starting with it, the key optionally quoted). Read
 * from the text rather than by parsing it again: views of runs call this on every request, and a spec
 * may be up to 1 MB, which the web process parses only off its event loop (spec-pool.ts).
 */
const TOP_LEVEL_METRIC = /^["']?metric["']?[ \t]*:/m;

/**
 * The metric a spec declares, or null when its source leaves `metric` out (the parsed spec then
 * holds the schema's default val/loss, which must not hide the project's setting).
 */
export function declaredSpecMetric(spec: { source: string; resolved: Prisma.JsonValue }): ProjectMetric | null {
  if (!TOP_LEVEL_METRIC.test(spec.source) || !isRecord(spec.resolved)) return null;
  const parsed = ZProjectMetric.safeParse(spec.resolved.metric);
  return parsed.success ? parsed.data : null;
}

export function projectMetricOf(project: {
  metricName: string | null;
  metricGoal: "min" | "max" | null;
}): ProjectMetric | null {
  return project.metricName && project.metricGoal ? { name: project.metricName, goal: project.metricGoal } : null;
}

const projectMetricSelect = { metricName: true, metricGoal: true } satisfies Prisma.ProjectSelect;
const specSelect = { source: true, resolved: true } satisfies Prisma.SpecVersionSelect;

/** The spec's metric (when it names one), else the project's, else val/loss. */
function resolve(spec: ProjectMetric | null, project: ProjectMetric | null): ResolvedMetric {
  if (spec) return { ...spec, source: "spec" };
  if (project) return { ...project, source: "project" };
  return { ...DEFAULT_METRIC, source: "default" };
}

/** An experiment's metric: its latest spec version's, else its project's, else val/loss. */
export async function resolveExperimentMetric(db: Db, experimentId: string): Promise<ResolvedMetric> {
  const experiment = await db.experiment.findUnique({
    where: { id: experimentId },
    select: {
      project: { select: projectMetricSelect },
      specVersions: { orderBy: { version: "desc" }, take: 1, select: specSelect },
    },
  });
  if (!experiment) throw new AppError("NOT_FOUND", "Experiment not found");
  const spec = experiment.specVersions[0];
  return resolve(spec ? declaredSpecMetric(spec) : null, projectMetricOf(experiment.project));
}

/** A run's metric: the spec version it ran from (else its experiment's latest), else its project's, else val/loss. */
export async function resolveRunMetric(db: Db, runId: string): Promise<ResolvedMetric> {
  const run = await db.run.findUnique({
    where: { id: runId },
    select: {
      specVersion: { select: specSelect },
      experiment: {
        select: {
          project: { select: projectMetricSelect },
          specVersions: { orderBy: { version: "desc" }, take: 1, select: specSelect },
        },
      },
    },
  });
  if (!run) throw new AppError("NOT_FOUND", "Run not found");
  const spec = run.specVersion ?? run.experiment.specVersions[0];
  return resolve(spec ? declaredSpecMetric(spec) : null, projectMetricOf(run.experiment.project));
}

/**
 * The metric that views of several runs or experiments default to (compare, the runs table): the
 * first experiment's, so a selection within one project reads as that project does.
 */
export async function resolveSelectionMetric(
  db: Db,
  selection: { experimentIds?: readonly string[]; runIds?: readonly string[] },
): Promise<ResolvedMetric> {
  const experimentId =
    selection.experimentIds?.[0] ??
    (selection.runIds?.length
      ? (
          await db.run.findFirst({
            where: { id: { in: [...selection.runIds] } },
            select: { experimentId: true },
            orderBy: [{ createdAt: "asc" }, { id: "asc" }],
          })
        )?.experimentId
      : undefined);
  if (!experimentId) return { ...DEFAULT_METRIC, source: "default" };
  return resolveExperimentMetric(db, experimentId).catch((error: unknown) => {
    if (error instanceof AppError && error.code === "NOT_FOUND")
      return { ...DEFAULT_METRIC, source: "default" as const };
    throw error;
  });
}

export const ZSetProjectMetricInput = z.object({
  /** null clears the setting: views go back to val/loss (or each spec's metric). */
  metric: ZProjectMetric.nullable(),
});
export type SetProjectMetricInput = z.infer<typeof ZSetProjectMetricInput>;

/** Sets (or clears) the metric a project's spec-less runs are judged by. The caller checks the editor role. */
export async function setProjectMetric(db: Db, projectId: string, input: SetProjectMetricInput) {
  const project = await db.project.update({
    where: { id: projectId },
    data: { metricName: input.metric?.name ?? null, metricGoal: input.metric?.goal ?? null },
    select: { id: true, ...projectMetricSelect },
  });
  return { projectId: project.id, metric: projectMetricOf(project) };
}
