import { getDb } from "~/server/db.ts";
import { mlflowErrorResponse } from "~/server/domain/mlflow/mlflow-error.ts";
import { limitRequestBody, MIB } from "~/server/http/body-limit.ts";
import { handleMlflow } from "~/server/http/mlflow.ts";

export const dynamic = "force-dynamic";

/** MLflow's tracking REST API (server/http/mlflow.ts); a log-batch of 1,000 metrics and 200 params and tags fits 1 MB. */
async function handler(received: Request, context: { params: Promise<{ path: string[] }> }) {
  const path = (await context.params).path;
  const request = await limitRequestBody(received, MIB, "/api/2.0/mlflow");
  if (request instanceof Response) {
    // The limit's 413, in MLflow's error shape so the client shows its message.
    const { error } = (await request.json()) as { error: { message: string } };
    return mlflowErrorResponse("RESOURCE_LIMIT_EXCEEDED", error.message);
  }
  return handleMlflow(getDb(), request, path);
}

export { handler as DELETE, handler as GET, handler as PATCH, handler as POST };
