import { createCaller } from "../../../server/api/root.ts";
import { createTRPCContext } from "../../../server/api/trpc.ts";
import { getDb } from "../../../server/db.ts";

export const dynamic = "force-dynamic";

/** Plain JSON for load balancers and scripts: 200 while the database answers, 503 when it does not. */
export async function GET(request: Request) {
  const caller = createCaller(createTRPCContext({ db: getDb(), headers: request.headers }));
  const health = await caller.health.status();
  return Response.json(health, {
    status: health.database.up ? 200 : 503,
    headers: { "cache-control": "no-store" },
  });
}
