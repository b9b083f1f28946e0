import { assertRunsReadable } from "../../domain/access/resource-access.ts";
import { packSeries } from "../../domain/metrics/pack-series.ts";
import { listMetricKeys, querySeries, ZMetricKeysQuery, ZSeriesQuery } from "../../domain/metrics/query-series.ts";
import { authedProcedure, router } from "../trpc.ts";

// Every run named must be readable (viewer); one unknown or other team's run makes the call NOT_FOUND.

export const metricsRouter = router({
  series: authedProcedure
    .input(ZSeriesQuery)
    .use(async ({ ctx, input, next }) => {
      await assertRunsReadable(ctx.db, ctx.actor, input.runIds);
      return next();
    })
    .query(async ({ ctx, input }) => packSeries(await querySeries(ctx.db, input))),
  keys: authedProcedure
    .input(ZMetricKeysQuery)
    .use(async ({ ctx, input, next }) => {
      await assertRunsReadable(ctx.db, ctx.actor, input.runIds);
      return next();
    })
    .query(({ ctx, input }) => listMetricKeys(ctx.db, input)),
});
