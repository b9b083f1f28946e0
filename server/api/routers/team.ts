import { createTeam, ZCreateTeamInput } from "../../domain/team/create-team.ts";
import {
  changeMemberRole,
  removeMember,
  ZChangeRoleInput,
  ZRemoveMemberInput,
} from "../../domain/team/change-member.ts";
import { getTeam } from "../../domain/team/get-team.ts";
import { listMembers } from "../../domain/team/list-members.ts";
import { listTeamsForUser } from "../../domain/team/list-teams.ts";
import { unlockSignIn, ZUnlockSignInInput } from "../../domain/team/unlock-sign-in.ts";
import { deleteTeam, renameTeam, ZRenameTeamInput } from "../../domain/team/update-team.ts";
import { router, teamProcedure, userProcedure } from "../trpc.ts";

export const teamRouter = router({
  list: userProcedure.query(({ ctx }) => listTeamsForUser(ctx.db, ctx.userId)),
  create: userProcedure.input(ZCreateTeamInput).mutation(({ ctx, input }) => createTeam(ctx.db, ctx.userId, input)),
  get: teamProcedure({ role: "viewer" }).query(({ ctx }) => getTeam(ctx.db, ctx.team.teamId)),
  members: teamProcedure({ role: "viewer" }).query(({ ctx }) => listMembers(ctx.db, ctx.team.teamId)),
  changeRole: teamProcedure({ role: "admin" })
    .input(ZChangeRoleInput)
    .mutation(({ ctx, input }) => changeMemberRole(ctx.db, ctx.team.teamId, input.userId, input.role)),
  removeMember: teamProcedure({ role: "admin" })
    .input(ZRemoveMemberInput)
    .mutation(({ ctx, input }) => removeMember(ctx.db, ctx.team.teamId, input.userId)),
  unlockSignIn: teamProcedure({ role: "admin" })
    .input(ZUnlockSignInInput)
    .mutation(({ ctx, input }) => unlockSignIn(ctx.db, ctx.team.teamId, input.userId)),
  rename: teamProcedure({ role: "admin" })
    .input(ZRenameTeamInput)
    .mutation(({ ctx, input }) => renameTeam(ctx.db, ctx.team.teamId, input.name)),
  delete: teamProcedure({ role: "admin" }).mutation(({ ctx }) => deleteTeam(ctx.db, ctx.team.teamId)),
});
