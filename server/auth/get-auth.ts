import { getDb } from "../db.ts";
import { env } from "../env.ts";
import { withClientAddress, withoutSessionTokens } from "./auth-http.ts";
import { createAuth, type Auth } from "./auth.ts";

const globalForAuth = globalThis as { scaleboardAuth?: Auth };

/**
 * The web server's better-auth instance. Its HTTP handler (what /api/auth/* calls) is wrapped:
 * the client address is ours, and bodies carry no session token (server/auth/auth-http.ts).
 */
export function getAuth(): Auth {
  if (!globalForAuth.scaleboardAuth) {
    const settings = env();
    const auth = createAuth(getDb(), settings);
    const handler = async (request: Request) =>
      withoutSessionTokens(await auth.handler(withClientAddress(request, settings.SCALEBOARD_TRUSTED_PROXIES)));
    globalForAuth.scaleboardAuth = { ...auth, handler };
  }
  return globalForAuth.scaleboardAuth;
}
