import { listProjects, ZListProjectsInput } from "../../domain/project/list-projects.ts";
import { publicProcedure, router } from "../trpc.ts";

export const projectRouter = router({
  list: publicProcedure.input(ZListProjectsInput).query(({ ctx, input }) => listProjects(ctx.db, input)),
});
