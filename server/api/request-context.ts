import { getAuth } from "../auth/get-auth.ts";
import { resolveRequestAuth } from "../auth/resolve-request-auth.ts";
import { getDb } from "../db.ts";
import { authMode, env } from "../env.ts";
import { getQueue } from "../queue/get-queue.ts";
import { createTRPCContext, type TRPCContext } from "./trpc.ts";

/** The tRPC context for an HTTP request (or a server component's request headers). */
export async function createRequestContext(headers: Headers, method: string): Promise<TRPCContext> {
  const db = getDb();
  const mode = authMode();
  const auth = await resolveRequestAuth(db, headers, {
    method,
    mode,
    publicUrl: env().SCALEBOARD_PUBLIC_URL,
    lookupSession: async (requestHeaders) => getAuth().api.getSession({ headers: requestHeaders }),
  });
  return createTRPCContext({ db, headers, ...auth, authMode: mode, queue: getQueue });
}
