import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { cancelRuns } from "../../domain/run/cancel-runs.ts";
import { listRuns, ZListRunsInput } from "../../domain/run/list-runs.ts";
import { readRunLogs } from "../../domain/run/read-run-logs.ts";
import { resolveProjectAccess } from "../../domain/access/resolve-team-access.ts";
import type { Role } from "../../generated/prisma/enums.ts";
import { AppError } from "../../domain/app-error.ts";
import { authedProcedure, experimentProcedure, router } from "../trpc.ts";

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

export const runRouter = router({
  list: experimentProcedure({ role: "viewer" })
    .input(ZListRunsInput)
    .query(({ ctx, input }) => listRuns(ctx.db, ctx.experimentId, input)),
  cancel: runProcedure("editor").mutation(({ ctx }) => cancelRuns(ctx.db, { runIds: [ctx.runId] })),
  cancelExperiment: experimentProcedure({ role: "editor" }).mutation(({ ctx }) => cancelRuns(ctx.db, { experimentId: ctx.experimentId })),
  logs: runProcedure("viewer")
    .input(z.object({ afterId: z.bigint().nullish() }))
    .query(({ ctx, input }) => readRunLogs(ctx.db, ctx.runId, input.afterId ?? null)),
});
