import type { Db } from "../db.ts";
import type { Actor } from "../domain/access/actor.ts";
import { verifyApiKey } from "../domain/api-key/verify-api-key.ts";
import { ensureLocalAdmin } from "../domain/auth/ensure-local-admin.ts";

export type RequestAuth = { actor: Actor | null; crossSite: boolean; authError: string | null };

export type SessionLookup = (headers: Headers) => Promise<{ user: { id: string } } | null>;

/**
 * A cookie-authenticated state change must come from our own pages. Browsers send Origin on
 * every cross-origin POST; we compare it with the Host the request was sent to (or the public URL).
 */
export function isCrossSite(headers: Headers, method: string, publicUrl?: string): boolean {
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return false;
  const origin = headers.get("origin");
  if (!origin) return headers.get("sec-fetch-site") === "cross-site";
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return true;
  }
  const hosts = [headers.get("x-forwarded-host"), headers.get("host")].filter(Boolean);
  if (publicUrl) hosts.push(new URL(publicUrl).host);
  return !hosts.includes(originHost);
}

let localAdmin: Promise<{ userId: string }> | undefined;

export async function resolveRequestAuth(
  db: Db,
  headers: Headers,
  options: { method: string; mode: "on" | "off"; lookupSession: SessionLookup; publicUrl?: string },
): Promise<RequestAuth> {
  const authorization = headers.get("authorization");
  if (authorization?.toLowerCase().startsWith("bearer ")) {
    const actor = await verifyApiKey(db, authorization.slice(7).trim());
    return { actor, crossSite: false, authError: actor ? null : "Invalid, expired or revoked API key" };
  }
  const crossSite = isCrossSite(headers, options.method, options.publicUrl);
  if (options.mode === "off") {
    localAdmin ??= ensureLocalAdmin(db).catch((error: unknown) => {
      localAdmin = undefined;
      throw error;
    });
    const { userId } = await localAdmin;
    return { actor: { kind: "user", userId, via: "local" }, crossSite, authError: null };
  }
  const session = await options.lookupSession(headers);
  return {
    actor: session ? { kind: "user", userId: session.user.id, via: "session" } : null,
    crossSite,
    authError: null,
  };
}
