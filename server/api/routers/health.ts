import { checkHealth, workerVisibility } from "../../domain/health/check-health.ts";
import { publicProcedure, router } from "../trpc.ts";

export const healthRouter = router({
  /** Anyone learns whether the server is up; signed-in callers also see the database and their teams' workers. */
  status: publicProcedure.query(async ({ ctx }) =>
    checkHealth(ctx.db, await workerVisibility(ctx.db, ctx.actor).catch(() => "none" as const)),
  ),
});
