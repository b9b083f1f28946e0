import { getDb } from "~/server/db.ts";
import { handleMlflowArtifacts } from "~/server/http/mlflow-artifacts.ts";

export const dynamic = "force-dynamic";

/** MLflow's artifact proxy (server/http/mlflow-artifacts.ts): uploads are streamed, held to the artifact limits there. */
async function handler(request: Request, context: { params: Promise<{ path?: string[] }> }) {
  return handleMlflowArtifacts(getDb(), request, (await context.params).path ?? []);
}

export { handler as GET, handler as PUT };
