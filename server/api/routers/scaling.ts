import { z } from "zod";
import { assertRunsReadable } from "../../domain/access/resource-access.ts";
import { readScalingAnalysis, ZScalingAnalysisOptions } from "../../domain/scaling/scaling-analysis.ts";
import { scalingView, ZScalingOptions } from "../../domain/scaling/scaling-view.ts";
import { authedProcedure, experimentProcedure, router } from "../trpc.ts";

export const ZCompareRunsInput = ZScalingOptions.extend({
  runIds: z.array(z.string().min(1).max(100)).min(1).max(500),
});

export const scalingRouter = router({
  view: experimentProcedure({ role: "viewer" })
    .input(ZScalingOptions)
    .query(({ ctx, input }) => scalingView(ctx.db, { experimentIds: [ctx.experimentId] }, input)),
  /** The compute-optimal analysis (joint fit, IsoFLOP, envelope, advice) of one experiment's runs. */
  analysis: experimentProcedure({ role: "viewer" })
    .input(ZScalingAnalysisOptions)
    .query(({ ctx, input }) => readScalingAnalysis(ctx.db, ctx.experimentId, input)),
  compare: authedProcedure.input(ZCompareRunsInput).query(async ({ ctx, input }) => {
    const runIds = [...new Set(input.runIds)];
    await assertRunsReadable(ctx.db, ctx.actor, runIds);
    return scalingView(ctx.db, { runIds }, input);
  }),
});
