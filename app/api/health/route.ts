import { createRequestContext } from "../../../server/api/request-context.ts";
import { createCaller } from "../../../server/api/root.ts";

export const dynamic = "force-dynamic";

/** Plain JSON for load balancers and scripts: 200 while the database answers, 503 when it does not. */
export async function GET(request: Request) {
  const caller = createCaller(await createRequestContext(request.headers, request.method).catch(() => createFallbackContext()));
  const health = await caller.health.status();
  return Response.json(health, {
    status: health.database.up ? 200 : 503,
    headers: { "cache-control": "no-store" },
  });
}

// Health must answer even when resolving the caller fails (database down in local mode).
async function createFallbackContext() {
  const { createTRPCContext } = await import("../../../server/api/trpc.ts");
  const { getDb } = await import("../../../server/db.ts");
  return createTRPCContext({ db: getDb() });
}
