import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createRequestContext } from "~/server/api/request-context.ts";
import { appRouter } from "~/server/api/root.ts";
import { limitRequestBody, MIB } from "~/server/http/body-limit.ts";

export const dynamic = "force-dynamic";

/** A spec is up to 1 MB of text; its JSON-encoded form (escapes, a batch of calls) fits twice that. */
const TRPC_BODY_LIMIT = 2 * MIB;

async function handler(received: Request) {
  const request = await limitRequestBody(received, TRPC_BODY_LIMIT, "/api/trpc");
  if (request instanceof Response) return request;
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    allowMethodOverride: true,
    createContext: () => createRequestContext(request.headers, request.method),
    // No onError log: the error formatter (server/api/trpc.ts) logs each internal error once, with the request id its client sees.
  });
}

export { handler as GET, handler as POST };
