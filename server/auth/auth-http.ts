import { clientAddress } from "./peer-stamp.ts";

/**
 * What the sign-in routes (/api/auth/*) add around better-auth's handler: the client's address
 * in a header of ours (better-auth's rate limiter and sessions read only that header, never
 * X-Forwarded-For), no session token in any JSON body (the cookie carries it), and a Retry-After
 * on every 429.
 */
export const CLIENT_ADDRESS_HEADER = "x-scaleboard-client-address";

/** A copy of the request whose CLIENT_ADDRESS_HEADER is ours: computed, or absent when unknown. */
export function withClientAddress(request: Request, trustedProxies: readonly string[]): Request {
  const headers = new Headers(request.headers);
  const address = clientAddress(request.headers, trustedProxies);
  if (address) headers.set(CLIENT_ADDRESS_HEADER, address);
  else headers.delete(CLIENT_ADDRESS_HEADER);
  return new Request(request, { headers });
}

const MAX_FILTERED_BYTES = 1_000_000;

/** Session tokens never leave in a body: sign-in, sign-up, get-session and list-sessions all return one otherwise. */
export async function withoutSessionTokens(response: Response): Promise<Response> {
  const headers = new Headers(response.headers);
  const retryAfter = headers.get("x-retry-after");
  if (response.status === 429 && retryAfter && !headers.has("retry-after")) headers.set("retry-after", retryAfter);
  const isJson = Boolean(
    response.body &&
      headers.get("content-type")?.includes("application/json") &&
      Number(headers.get("content-length") ?? 0) <= MAX_FILTERED_BYTES,
  );
  if (isJson) headers.delete("content-length");
  const body = isJson ? withoutTokenFields(await response.text()) : response.body;
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

function withoutTokenFields(text: string): string {
  try {
    return JSON.stringify(dropTokens(JSON.parse(text)));
  } catch {
    return text;
  }
}

function dropTokens(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => dropTokens(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "token")
      .map(([key, item]) => [key, dropTokens(item, depth + 1)]),
  );
}
