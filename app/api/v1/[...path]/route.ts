import { getDb } from "~/server/db.ts";
import { bodyTooLarge, limitRequestBody, MIB } from "~/server/http/body-limit.ts";
import { handleV1 } from "~/server/http/v1.ts";
import { MAX_CHECKPOINT_BYTES } from "~/server/http/worker-api.ts";

export const dynamic = "force-dynamic";

/** A worker's checkpoint upload (POST /api/v1/worker/runs/:id/checkpoints): raw bytes, streamed to the handler. */
const isCheckpointUpload = (request: Request, path: string[]) =>
  request.method === "POST" && path[0] === "worker" && path[3] === "checkpoints" && path.length === 4;

async function handler(received: Request, context: { params: Promise<{ path: string[] }> }) {
  const path = (await context.params).path;
  let request: Request | Response = received;
  if (isCheckpointUpload(received, path)) {
    // Authenticated before it is read, and read with its own limit (server/http/worker-api.ts).
    if (Number(received.headers.get("content-length") ?? 0) > MAX_CHECKPOINT_BYTES)
      return bodyTooLarge(MAX_CHECKPOINT_BYTES, "a checkpoint upload");
  } else {
    // Every JSON body of the API (a batch of up to 10,000 points included) fits 1 MB; the handler
    // holds each to its own limit (server/http/v1-schemas.ts, a little under a MiB) as well.
    request = await limitRequestBody(received, MIB, "/api/v1");
    if (request instanceof Response) return request;
  }
  return handleV1(getDb(), request, path);
}

export { handler as GET, handler as POST };
