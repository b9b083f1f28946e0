/**
 * Request bodies are read with a limit before any parser sees them: a declared Content-Length over
 * the limit is refused without reading, and a streamed (chunked) body is cut off as soon as it
 * passes the limit, so a 100 MB upload costs the server at most `limit` bytes of memory.
 */

export const KIB = 1024;
export const MIB = 1024 * KIB;

/** "1 MB", "64 KB": how a limit is named in the 413 that enforces it. */
export function formatBytes(bytes: number): string {
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB} MB`;
  if (bytes >= KIB && bytes % KIB === 0) return `${bytes / KIB} KB`;
  return `${bytes} bytes`;
}

export function bodyTooLarge(limitBytes: number, what: string): Response {
  return Response.json(
    {
      error: {
        code: "PAYLOAD_TOO_LARGE",
        message: `Request body too large: ${what} accepts at most ${formatBytes(limitBytes)}`,
        limitBytes,
      },
    },
    { status: 413, headers: { "cache-control": "no-store" } },
  );
}

/**
 * The request with its body read into memory (at most `limitBytes`), or a 413 naming the limit.
 * Requests without a body (GET, HEAD) pass through unchanged.
 */
export async function limitRequestBody(
  request: Request,
  limitBytes: number,
  what: string,
): Promise<Request | Response> {
  if (request.method === "GET" || request.method === "HEAD" || !request.body) return request;
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limitBytes) {
    // Refusing the body: the client may have closed it already; the 413 answer says what happened.
    await request.body.cancel().catch(() => undefined);
    return bodyTooLarge(limitBytes, what);
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > limitBytes) {
      // Refusing the body: the client may have closed it already; the 413 answer says what happened.
      await reader.cancel().catch(() => undefined);
      return bodyTooLarge(limitBytes, what);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const headers = new Headers(request.headers);
  headers.delete("transfer-encoding");
  headers.set("content-length", String(received));
  return new Request(request.url, { method: request.method, headers, body, signal: request.signal });
}
