import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { resolveProjectAccess } from "../../domain/access/resolve-team-access.ts";
import { AppError } from "../../domain/app-error.ts";
import { assertExperimentsReadable, groupRunsTable, listRunsTable, ZRunsTableGroupsInput, ZRunsTableInput } from "../../domain/run/runs-table.ts";
import { annotateRun, ZAnnotateRunInput } from "../../domain/run/update-run.ts";
import type { Role } from "../../generated/prisma/enums.ts";
import { authedProcedure, router } from "../trpc.ts";

/** Procedures on one run, checked through its experiment's project; other teams' runs do not exist. */
function runProcedure(role: Role) {
  return authedProcedure.input(z.object({ runId: z.string().min(1) })).use(async ({ ctx, input, next }) => {
    const run = await ctx.db.run.findUnique({ where: { id: input.runId }, select: { experiment: { select: { projectId: true } } } });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: "Run not found" });
    try {
      await resolveProjectAccess(ctx.db, ctx.actor, run.experiment.projectId, role);
    } catch (error) {
      if (error instanceof AppError && error.code === "NOT_FOUND") throw new TRPCError({ code: "NOT_FOUND", message: "Run not found" });
      throw error;
    }
    return next({ ctx: { runId: input.runId } });
  });
}

export const runsTableRouter = router({
  list: authedProcedure
    .input(ZRunsTableInput)
    .use(async ({ ctx, input, next }) => {
      await assertExperimentsReadable(ctx.db, ctx.actor, input.experimentIds);
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
  annotate: runProcedure("editor")
    .input(ZAnnotateRunInput)
    .mutation(({ ctx, input }) => annotateRun(ctx.db, ctx.runId, input)),
});
