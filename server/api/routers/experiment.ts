import { listExperiments } from "../../domain/experiment/list-experiments.ts";
import { resolveExperimentMetric } from "../../domain/project/project-metric.ts";
import { experimentProcedure, projectProcedure, router } from "../trpc.ts";

export const experimentRouter = router({
  list: projectProcedure({ role: "viewer" }).query(({ ctx }) => listExperiments(ctx.db, ctx.project.projectId)),
  /** The metric the experiment's views default to: its spec's, else its project's, else val/loss. */
  metric: experimentProcedure({ role: "viewer" }).query(({ ctx }) => resolveExperimentMetric(ctx.db, ctx.experimentId)),
});
