import { runEventHubFor } from "../../domain/live/run-event-hub.ts";
import { streamRunEvents, ZRunEventsInput } from "../../domain/live/stream-run-events.ts";
import { assertExperimentsReadable, assertRunsReadable } from "../../domain/access/resource-access.ts";
import { authedProcedure, router } from "../trpc.ts";

export const liveRouter = router({
  /**
   * Run status changes and new points (SSE through httpSubscriptionLink). Access is checked once, on
   * subscribe: viewer on every experiment and run followed.
   */
  runEvents: authedProcedure
    .input(ZRunEventsInput)
    .use(async ({ ctx, input, next }) => {
      if (input.experimentIds?.length) await assertExperimentsReadable(ctx.db, ctx.actor, input.experimentIds);
      if (input.runIds?.length) await assertRunsReadable(ctx.db, ctx.actor, input.runIds);
      return next();
    })
    .subscription(async function* ({ ctx, input, signal }) {
      yield* streamRunEvents(runEventHubFor(ctx.db), input, signal);
    }),
});
