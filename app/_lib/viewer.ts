import { cookies, headers } from "next/headers";
import { cache } from "react";
import { createRequestContext } from "../../server/api/request-context.ts";
import { createCaller } from "../../server/api/root.ts";
import { ACTIVE_TEAM_COOKIE } from "../_features/team/team-cookie.ts";

/** The signed-in viewer and the team the UI is showing (the cookie's team if still a member, else the first). */
export const getViewer = cache(async () => {
  const caller = createCaller(await createRequestContext(new Headers(await headers()), "GET"));
  const session = await caller.viewer.session();
  const wanted = (await cookies()).get(ACTIVE_TEAM_COOKIE)?.value;
  const activeTeam = session.teams.find((team) => team.id === wanted) ?? session.teams[0] ?? null;
  return { ...session, activeTeam };
});
