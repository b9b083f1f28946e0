import { enabledProviders } from "../../auth/auth.ts";
import { describeViewer } from "../../domain/viewer/describe-viewer.ts";
import { env } from "../../env.ts";
import { publicProcedure, router } from "../trpc.ts";

export const viewerRouter = router({
  /** Public on purpose: the sign-in page needs to know the auth mode and which providers exist. */
  session: publicProcedure.query(async ({ ctx }) => ({
    authMode: ctx.authMode,
    providers: enabledProviders(env()),
    ...(await describeViewer(ctx.db, ctx.actor)),
  })),
});
