import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Actor } from "../../domain/access/actor.ts";
import { resolveProjectAccess } from "../../domain/access/resolve-team-access.ts";
import { AppError } from "../../domain/app-error.ts";
import { scalingView, ZScalingOptions } from "../../domain/scaling/scaling-view.ts";
import { authedProcedure, experimentProcedure, router } from "../trpc.ts";

export const ZCompareRunsInput = ZScalingOptions.extend({ runIds: z.array(z.string().min(1).max(100)).min(1).max(500) });

/** Every run must exist and sit in a project the actor may read; otherwise none of them exist. */
async function checkRunsReadable(db: Db, actor: Actor, runIds: readonly string[]): Promise<void> {
  const runs = await db.run.findMany({ where: { id: { in: [...runIds] } }, select: { experiment: { select: { projectId: true } } } });
  if (runs.length !== runIds.length) throw new TRPCError({ code: "NOT_FOUND", message: "Run not found" });
  for (const projectId of new Set(runs.map((run) => run.experiment.projectId))) {
    try {
      await resolveProjectAccess(db, actor, projectId, "viewer");
    } catch (error) {
      if (error instanceof AppError && error.code === "NOT_FOUND") throw new TRPCError({ code: "NOT_FOUND", message: "Run not found" });
      throw error;
    }
  }
}

export const scalingRouter = router({
  view: experimentProcedure({ role: "viewer" })
    .input(ZScalingOptions)
    .query(({ ctx, input }) => scalingView(ctx.db, { experimentIds: [ctx.experimentId] }, input)),
  compare: authedProcedure.input(ZCompareRunsInput).query(async ({ ctx, input }) => {
    const runIds = [...new Set(input.runIds)];
    await checkRunsReadable(ctx.db, ctx.actor, runIds);
    return scalingView(ctx.db, { runIds }, input);
  }),
});
