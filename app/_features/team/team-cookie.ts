/** The cookie naming the team a signed-in user works in; app/_lib/viewer.ts reads it on each request. */
export const ACTIVE_TEAM_COOKIE = "scaleboard-team";

const ONE_YEAR_MS = 365 * 24 * 60 * 60 * 1000;

/** Makes `teamId` the active team for this browser; resolves once the cookie is set, so a refresh sees it. */
export async function rememberTeam(teamId: string): Promise<void> {
  const value = encodeURIComponent(teamId);
  // The Cookie Store API exists only in secure contexts (https, localhost) and recent browsers.
  if (typeof cookieStore !== "undefined") {
    await cookieStore.set({
      name: ACTIVE_TEAM_COOKIE,
      value,
      path: "/",
      expires: Date.now() + ONE_YEAR_MS,
      sameSite: "lax",
    });
    return;
  }
  // biome-ignore lint/suspicious/noDocumentCookie: the fallback where cookieStore is missing (a self-hosted server on plain http, older browsers); the server needs the cookie, so it must be set here.
  document.cookie = `${ACTIVE_TEAM_COOKIE}=${value}; path=/; max-age=${ONE_YEAR_MS / 1000}; samesite=lax`;
}
