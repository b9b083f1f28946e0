import { z } from "zod";
import { cancelRuns } from "../../domain/run/cancel-runs.ts";
import { getRun } from "../../domain/run/get-run.ts";
import { listRuns, ZListRunsInput } from "../../domain/run/list-runs.ts";
import { readRunLogs } from "../../domain/run/read-run-logs.ts";
import { experimentProcedure, router, runProcedure } from "../trpc.ts";

export const runRouter = router({
  list: experimentProcedure({ role: "viewer" })
    .input(ZListRunsInput)
    .query(({ ctx, input }) => listRuns(ctx.db, ctx.experimentId, input)),
  /** The run page: identity, status, sizes, config, summary, environment and each key's last value. */
  get: runProcedure({ role: "viewer" }).query(({ ctx }) => getRun(ctx.db, ctx.runId)),
  cancel: runProcedure({ role: "editor" }).mutation(async ({ ctx }) =>
    cancelRuns(ctx.db, { runIds: [ctx.runId] }, await ctx.queue()),
  ),
  cancelExperiment: experimentProcedure({ role: "editor" }).mutation(async ({ ctx }) =>
    cancelRuns(ctx.db, { experimentId: ctx.experimentId }, await ctx.queue()),
  ),
  logs: runProcedure({ role: "viewer" })
    .input(z.object({ afterId: z.bigint().nullish() }))
    .query(({ ctx, input }) => readRunLogs(ctx.db, ctx.runId, input.afterId ?? null)),
});
