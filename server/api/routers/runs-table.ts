import { assertExperimentsReadable, assertRunsReadable } from "../../domain/access/resource-access.ts";
import { readConfigDiff, ZConfigDiffInput } from "../../domain/config/read-config-diff.ts";
import { groupRunsTable, listRunsTable, ZRunsTableGroupsInput, ZRunsTableInput } from "../../domain/run/runs-table.ts";
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
  /** What differs between the runs' whole resolved configs (compare, the experiment page's config-diff panel). */
  configDiff: authedProcedure
    .input(ZConfigDiffInput)
    .use(async ({ ctx, input, next }) => {
      await assertRunsReadable(ctx.db, ctx.actor, input.runIds);
      return next();
    })
    .query(({ ctx, input }) => readConfigDiff(ctx.db, input)),
  annotate: runProcedure({ role: "editor" })
    .input(ZAnnotateRunInput)
    .mutation(({ ctx, input }) => annotateRun(ctx.db, ctx.runId, input)),
});
