import { assertRunsReadable } from "../../domain/metrics/query-series.ts";
import { assertExperimentsReadable, groupRunsTable, listRunsTable, ZRunsTableGroupsInput, ZRunsTableInput } from "../../domain/run/runs-table.ts";
import { annotateRun, ZAnnotateRunInput } from "../../domain/run/update-run.ts";
import { authedProcedure, router, runProcedure } from "../trpc.ts";

export const runsTableRouter = router({
  list: authedProcedure
    .input(ZRunsTableInput)
    .use(async ({ ctx, input, next }) => {
      // Named experiments bound the runs filter; without them every named run must be readable.
      if (input.experimentIds) await assertExperimentsReadable(ctx.db, ctx.actor, input.experimentIds);
      else await assertRunsReadable(ctx.db, ctx.actor, input.filter.runIds ?? []);
      return next();
    })
    .query(({ ctx, input }) => listRunsTable(ctx.db, input)),
  groups: authedProcedure
    .input(ZRunsTableGroupsInput)
    .use(async ({ ctx, input, next }) => {
      await assertExperimentsReadable(ctx.db, ctx.actor, input.experimentIds);
      return next();
    })
    .query(({ ctx, input }) => groupRunsTable(ctx.db, input)),
  annotate: runProcedure({ role: "editor" })
    .input(ZAnnotateRunInput)
    .mutation(({ ctx, input }) => annotateRun(ctx.db, ctx.runId, input)),
});
