import { createRequestContext } from "~/server/api/request-context.ts";
import { createCaller } from "~/server/api/root.ts";
import { logger } from "~/server/log.ts";

export const dynamic = "force-dynamic";

/**
 * Plain JSON for load balancers and scripts: 200 while the database answers, 503 when it does not.
 * Anonymous callers get only {"status":"up"|"down"}; signed-in ones (or an API key) the details.
 */
export async function GET(request: Request) {
  const context = await createRequestContext(request.headers, request.method).catch((error: unknown) => {
    logger().debug({ err: error }, "health: resolving the caller failed; answering as for an anonymous caller");
    return createFallbackContext();
  });
  const health = await createCaller(context).health.status();
  const body = context.actor ? health : { status: health.database.up ? "up" : "down" };
  return Response.json(body, {
    status: health.database.up ? 200 : 503,
    headers: { "cache-control": "no-store" },
  });
}

// Health must answer even when resolving the caller fails (database down in local mode).
async function createFallbackContext() {
  const { createTRPCContext } = await import("~/server/api/trpc.ts");
  const { getDb } = await import("~/server/db.ts");
  return createTRPCContext({ db: getDb() });
}
