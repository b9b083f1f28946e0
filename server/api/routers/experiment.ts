import { listExperiments } from "../../domain/experiment/list-experiments.ts";
import { projectProcedure, router } from "../trpc.ts";

export const experimentRouter = router({
  list: projectProcedure({ role: "viewer" }).query(({ ctx }) => listExperiments(ctx.db, ctx.project.projectId)),
});
