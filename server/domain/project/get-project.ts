import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";

export async function getProject(db: Db, projectId: string) {
  const project = await db.project.findUnique({
    where: { id: projectId },
    select: { id: true, teamId: true, name: true, slug: true, description: true, createdAt: true, updatedAt: true },
  });
  if (!project) throw new AppError("NOT_FOUND", "Project not found");
  return project;
}
