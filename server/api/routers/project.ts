import { z } from "zod";
import { createProject, ZCreateProjectInput } from "../../domain/project/create-project.ts";
import { getProject } from "../../domain/project/get-project.ts";
import { listProjects } from "../../domain/project/list-projects.ts";
import { setProjectMetric, ZSetProjectMetricInput } from "../../domain/project/project-metric.ts";
import { projectProcedure, router, teamProcedure } from "../trpc.ts";

export const projectRouter = router({
  list: teamProcedure({ role: "viewer" })
    .input(z.object({ limit: z.number().int().min(1).max(100).default(50), cursor: z.string().min(1).nullish() }))
    .query(({ ctx, input }) => listProjects(ctx.db, input)),
  get: projectProcedure({ role: "viewer" }).query(({ ctx, input }) => getProject(ctx.db, input.projectId)),
  create: teamProcedure({ role: "editor" })
    .input(ZCreateProjectInput)
    .mutation(({ ctx, input }) => createProject(ctx.db, ctx.team.teamId, input)),
  /** The metric the project's views default to when a run's spec names none (runs logged from Python, MLflow, HTTP). */
  setMetric: projectProcedure({ role: "editor" })
    .input(ZSetProjectMetricInput)
    .mutation(({ ctx, input }) => setProjectMetric(ctx.db, ctx.project.projectId, input)),
});
