import { randomBytes } from "node:crypto";
import http from "node:http";
import { env } from "../env.ts";
import { resolveClientAddress, trustedProxies, type TrustedProxies } from "./client-address.ts";

/**
 * Next.js hands route handlers a Request without the socket, and `next start` fills in
 * X-Forwarded-For from the socket only when the client sent none, so a client that sends one
 * hides its real address. The web process therefore stamps every incoming request with the
 * socket's peer address (instrumentation.ts installs this when the server starts). The stamp
 * carries a secret of this process, so a client-sent header of the same name is never mistaken for
 * one; a request without a valid stamp has no known address and shares one bucket with the others.
 */
export const PEER_HEADER = "x-scaleboard-peer";

const STAMP_SECRET = Symbol.for("scaleboard.peerStampSecret");
type StampGlobal = { [STAMP_SECRET]?: string };

export function installPeerStamp(): void {
  const global = globalThis as StampGlobal;
  if (global[STAMP_SECRET]) return;
  const secret = randomBytes(18).toString("base64url");
  global[STAMP_SECRET] = secret;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function stampPeer(this: http.Server, event: string | symbol, ...args: unknown[]) {
    if (event === "request") {
      const request = args[0] as http.IncomingMessage;
      request.headers[PEER_HEADER] = `${secret} ${request.socket?.remoteAddress ?? ""}`;
    }
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
  } as typeof emit;
}

/** The socket peer of a stamped request, or null when the request carries no valid stamp. */
export function peerAddress(headers: Headers): string | null {
  const secret = (globalThis as StampGlobal)[STAMP_SECRET];
  const value = headers.get(PEER_HEADER);
  if (!secret || !value) return null;
  const space = value.indexOf(" ");
  if (space < 0 || value.slice(0, space) !== secret) return null;
  return value.slice(space + 1) || null;
}

const parsedLists = new WeakMap<readonly string[], TrustedProxies>();

/**
 * The client's address: the peer, or, while the hop is a trusted proxy, the next X-Forwarded-For
 * entry from the right. `trusted` is SCALEBOARD_TRUSTED_PROXIES.
 */
export function clientAddress(
  headers: Headers,
  trusted: readonly string[] = env().SCALEBOARD_TRUSTED_PROXIES,
): string | null {
  let proxies = parsedLists.get(trusted);
  if (!proxies) {
    proxies = trustedProxies(trusted);
    parsedLists.set(trusted, proxies);
  }
  return resolveClientAddress(peerAddress(headers), headers.get("x-forwarded-for"), proxies);
}
