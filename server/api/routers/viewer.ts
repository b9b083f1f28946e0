import { enabledProviders } from "../../auth/auth.ts";
import { describeViewer, instanceHasAccounts } from "../../domain/viewer/describe-viewer.ts";
import { env } from "../../env.ts";
import { publicProcedure, router } from "../trpc.ts";

export const viewerRouter = router({
  /** Public on purpose: the sign-in page needs to know the auth mode and which providers exist. */
  session: publicProcedure.query(async ({ ctx }) => ({
    authMode: ctx.authMode,
    providers: enabledProviders(env()),
    /** True on a fresh instance: the UI asks for the first account, which becomes the admin. */
    needsFirstAccount: ctx.authMode === "on" && !(await instanceHasAccounts(ctx.db)),
    ...(await describeViewer(ctx.db, ctx.actor)),
  })),
});
