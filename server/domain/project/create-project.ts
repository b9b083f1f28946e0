import { z } from "zod";
import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";
import { slugify } from "../team/create-team.ts";
import { projectSummarySelect } from "./list-projects.ts";

export const ZCreateProjectInput = z.object({
  name: z.string().trim().min(1, "Give the project a name").max(100),
  description: z.string().trim().max(2000).nullish(),
});
export type CreateProjectInput = z.infer<typeof ZCreateProjectInput>;

export async function createProject(db: Db, teamId: string, input: CreateProjectInput) {
  const slug = slugify(input.name);
  const existing = await db.project.findUnique({ where: { teamId_slug: { teamId, slug } }, select: { id: true } });
  if (existing) throw new AppError("CONFLICT", `A project named like "${input.name}" already exists in this team`);
  const { _count, ...project } = await db.project.create({
    data: { teamId, name: input.name, slug, description: input.description ?? null },
    select: projectSummarySelect,
  });
  return { ...project, experimentCount: _count.experiments };
}
