import { createRequestContext } from "~/server/api/request-context.ts";
import { handleRunArtifacts } from "~/server/domain/artifacts/run-artifacts-http.ts";

export const dynamic = "force-dynamic";

/**
 * A run's artifacts (server/domain/artifacts/run-artifacts-http.ts). More specific than
 * app/api/v1/[...path], so Next routes /api/v1/runs/{id}/artifacts[/...] here and every other
 * /api/v1 path there. Uploads are streamed, held to the artifact limits, never read whole.
 */
async function handler(request: Request, context: { params: Promise<{ id: string; path?: string[] }> }) {
  const { id, path } = await context.params;
  const ctx = await createRequestContext(request.headers, request.method);
  return handleRunArtifacts(ctx.db, request, id, path ?? [], ctx);
}

export { handler as GET, handler as PUT };
