import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";
import { projectMetricOf } from "./project-metric.ts";

export async function getProject(db: Db, projectId: string) {
  const project = await db.project.findUnique({
    where: { id: projectId },
    select: {
      id: true,
      teamId: true,
      name: true,
      slug: true,
      description: true,
      metricName: true,
      metricGoal: true,
      createdAt: true,
      updatedAt: true,
    },
  });
  if (!project) throw new AppError("NOT_FOUND", "Project not found");
  const { metricName, metricGoal, ...rest } = project;
  /** The project's own metric setting; null when it has none (views use val/loss). */
  return { ...rest, metric: projectMetricOf({ metricName, metricGoal }) };
}
