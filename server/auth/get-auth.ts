import { getDb } from "../db.ts";
import { env } from "../env.ts";
import { createAuth, type Auth } from "./auth.ts";

const globalForAuth = globalThis as unknown as { scaleboardAuth?: Auth };

/** The web server's better-auth instance. */
export function getAuth(): Auth {
  globalForAuth.scaleboardAuth ??= createAuth(getDb(), env());
  return globalForAuth.scaleboardAuth;
}
