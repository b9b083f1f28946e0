import { z } from "zod";
import { createApiKey, ZCreateApiKeyInput } from "../../domain/api-key/create-api-key.ts";
import { listApiKeys } from "../../domain/api-key/list-api-keys.ts";
import { revokeApiKey } from "../../domain/api-key/revoke-api-key.ts";
import { router, teamProcedure } from "../trpc.ts";

export const apiKeyRouter = router({
  create: teamProcedure({ role: "admin" })
    .input(ZCreateApiKeyInput)
    .mutation(({ ctx, input }) => createApiKey(ctx.db, ctx.team.teamId, ctx.actor.userId, input)),
  list: teamProcedure({ role: "admin" }).query(({ ctx }) => listApiKeys(ctx.db, ctx.team.teamId)),
  revoke: teamProcedure({ role: "admin" })
    .input(z.object({ keyId: z.string().min(1) }))
    .mutation(({ ctx, input }) => revokeApiKey(ctx.db, ctx.team.teamId, input.keyId)),
});
