import { checkHealth } from "../../domain/health/check-health.ts";
import { publicProcedure, router } from "../trpc.ts";

export const healthRouter = router({
  status: publicProcedure.query(({ ctx }) => checkHealth(ctx.db)),
});
