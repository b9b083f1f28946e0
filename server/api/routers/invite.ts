import { z } from "zod";
import { acceptInvite, previewInvite, ZInviteTokenInput } from "../../domain/invite/accept-invite.ts";
import { createInvite, ZCreateInviteInput } from "../../domain/invite/create-invite.ts";
import { listInvites, revokeInvite } from "../../domain/invite/manage-invites.ts";
import { publicProcedure, router, teamProcedure, userProcedure } from "../trpc.ts";

export const inviteRouter = router({
  create: teamProcedure({ role: "admin" })
    .input(ZCreateInviteInput)
    .mutation(({ ctx, input }) => createInvite(ctx.db, ctx.team.teamId, ctx.actor.userId, input)),
  list: teamProcedure({ role: "admin" }).query(({ ctx }) => listInvites(ctx.db, ctx.team.teamId)),
  revoke: teamProcedure({ role: "admin" })
    .input(z.object({ inviteId: z.string().min(1) }))
    .mutation(({ ctx, input }) => revokeInvite(ctx.db, ctx.team.teamId, input.inviteId)),
  preview: publicProcedure.input(ZInviteTokenInput).query(({ ctx, input }) => previewInvite(ctx.db, input.token)),
  accept: userProcedure
    .input(ZInviteTokenInput)
    .mutation(({ ctx, input }) => acceptInvite(ctx.db, ctx.userId, input.token)),
});
