import {
  readSweepHyperparameters,
  ZSweepHyperparametersOptions,
} from "../../domain/hyperparameters/sweep-hyperparameters.ts";
import { experimentProcedure, router } from "../trpc.ts";

export const hyperparametersRouter = router({
  /** A sweep's runs by their swept values and metric, with each parameter's importance. */
  sweep: experimentProcedure({ role: "viewer" })
    .input(ZSweepHyperparametersOptions)
    .query(({ ctx, input }) => readSweepHyperparameters(ctx.db, ctx.experimentId, input)),
});
