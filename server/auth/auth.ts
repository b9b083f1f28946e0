import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { APIError, createAuthMiddleware, isAPIError } from "better-auth/api";
import { nextCookies } from "better-auth/next-js";
import { genericOAuth } from "better-auth/plugins/generic-oauth";
import type { Db } from "../db.ts";
import { onUserCreated } from "../domain/auth/on-user-created.ts";
import { signInThrottle } from "../domain/auth/sign-in-throttle.ts";
import { findUsableInvite } from "../domain/invite/accept-invite.ts";
import type { Env } from "../env.ts";
import { CLIENT_ADDRESS_HEADER } from "./auth-http.ts";
import { addressKey } from "./client-address.ts";
import { clientAddress } from "./peer-stamp.ts";

/** Header the sign-up form sends with the invite token, checked when sign-up is invite-only. */
export const INVITE_HEADER = "x-scaleboard-invite";

export type AuthProviders = { github: boolean; google: boolean; oidc: { name: string } | null; signup: Env["SIGNUP"] };

export function enabledProviders(env: Env): AuthProviders {
  return {
    github: Boolean(env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET),
    google: Boolean(env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET),
    oidc: env.OIDC_DISCOVERY_URL && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET ? { name: env.OIDC_NAME } : null,
    signup: env.SIGNUP,
  };
}

/**
 * better-auth: email + password (scrypt hashes) with sessions in PostgreSQL through Prisma,
 * OAuth providers switched on by their env vars, sign-in throttled per account and address
 * (server/domain/auth/sign-in-throttle.ts). Addresses come from the socket and trusted proxies only.
 */
export function createAuth(db: Db, env: Env) {
  const throttle = signInThrottle();
  const providers = enabledProviders(env);

  return betterAuth({
    appName: "Scaleboard",
    secret: env.BETTER_AUTH_SECRET ?? "scaleboard-local-mode-secret-not-used-for-sessions",
    ...(env.SCALEBOARD_PUBLIC_URL ? { baseURL: env.SCALEBOARD_PUBLIC_URL } : {}),
    database: prismaAdapter(db, { provider: "postgresql" }),
    // Without a public URL, the origin to trust is the host the browser used (next start reports
    // localhost in request.url whatever address was used): the same rule as tRPC's isCrossSite.
    trustedOrigins: async (request) => {
      const hosts = [request?.headers.get("x-forwarded-host"), request?.headers.get("host")].filter(
        (host): host is string => Boolean(host),
      );
      return [
        ...(env.SCALEBOARD_PUBLIC_URL ? [new URL(env.SCALEBOARD_PUBLIC_URL).origin] : []),
        ...hosts.flatMap((host) => [`http://${host}`, `https://${host}`]),
      ];
    },
    emailAndPassword: { enabled: true, minPasswordLength: 8, autoSignIn: true },
    socialProviders: {
      ...(providers.github
        ? { github: { clientId: env.GITHUB_CLIENT_ID!, clientSecret: env.GITHUB_CLIENT_SECRET! } }
        : {}),
      ...(providers.google
        ? { google: { clientId: env.GOOGLE_CLIENT_ID!, clientSecret: env.GOOGLE_CLIENT_SECRET! } }
        : {}),
    },
    plugins: [
      ...(providers.oidc
        ? [
            genericOAuth({
              config: [
                {
                  providerId: "oidc",
                  discoveryUrl: env.OIDC_DISCOVERY_URL!,
                  clientId: env.OIDC_CLIENT_ID!,
                  clientSecret: env.OIDC_CLIENT_SECRET!,
                  scopes: ["openid", "email", "profile"],
                },
              ],
            }),
          ]
        : []),
      nextCookies(),
    ],
    rateLimit: {
      enabled: true,
      window: 60,
      max: 200,
      customRules: { "/sign-in/email": { window: 60, max: 30 }, "/sign-up/email": { window: 60, max: 10 } },
    },
    // better-auth would read X-Forwarded-For, which any client writes; this header is set by our
    // handler wrapper from the socket and SCALEBOARD_TRUSTED_PROXIES (server/auth/auth-http.ts).
    advanced: { ipAddress: { ipAddressHeaders: [CLIENT_ADDRESS_HEADER] } },
    telemetry: { enabled: false },
    databaseHooks: {
      user: { create: { after: async (user) => onUserCreated(db, user) } },
    },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path === "/sign-in/email") {
          const email = String((ctx.body as { email?: unknown } | undefined)?.email ?? "");
          const address = throttleAddress(ctx.request, env.SCALEBOARD_TRUSTED_PROXIES);
          const wait = throttle.retryAfterSeconds(email, address);
          if (wait > 0) {
            throw new APIError(
              "TOO_MANY_REQUESTS",
              {
                message: `Too many failed sign-in attempts; try again in ${wait} s, or ask a team admin to unlock sign-in`,
              },
              { "Retry-After": String(wait) },
            );
          }
        }
        if (ctx.path === "/sign-up/email" && env.SIGNUP === "invite-only") {
          const anyUser = await db.user.findFirst({ where: { id: { not: "local-admin" } }, select: { id: true } });
          const token = ctx.headers?.get(INVITE_HEADER);
          if (anyUser && !(token && (await findUsableInvite(db, token)))) {
            throw new APIError("FORBIDDEN", {
              message: "Sign-up is by invitation only: ask a team admin for an invite link",
            });
          }
        }
      }),
      after: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== "/sign-in/email") return;
        const email = String((ctx.body as { email?: unknown } | undefined)?.email ?? "");
        const address = throttleAddress(ctx.request, env.SCALEBOARD_TRUSTED_PROXIES);
        if (isAPIError(ctx.context.returned)) {
          if (ctx.context.returned.statusCode === 401) throttle.recordFailure(email, address);
        } else {
          throttle.recordSuccess(email, address);
        }
      }),
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;

/** The key failures are counted under for this request's client (an IPv6 client's whole /64). */
function throttleAddress(request: Request | undefined, trustedProxies: readonly string[]): string | null {
  const address = request ? clientAddress(request.headers, trustedProxies) : null;
  return address ? addressKey(address) : null;
}
