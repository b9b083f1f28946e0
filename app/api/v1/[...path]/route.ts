import { getDb } from "../../../../server/db.ts";
import { handleV1 } from "../../../../server/http/v1.ts";

export const dynamic = "force-dynamic";

async function handler(request: Request, context: { params: Promise<{ path: string[] }> }) {
  return handleV1(getDb(), request, (await context.params).path);
}

export { handler as GET, handler as POST };
