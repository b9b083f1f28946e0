import path from "node:path";
import { z } from "zod";

const ZPort = z.coerce
  .number({ message: "expected a port number" })
  .int("expected a whole number")
  .min(1, "expected a port from 1 to 65535")
  .max(65535, "expected a port from 1 to 65535");

const ZPostgresUrl = z
  .string()
  .trim()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), "expected a postgres:// or postgresql:// URL")
  .refine((value) => URL.canParse(value), "is not a valid URL");

const emptyAsUndefined = (value: unknown) => (value === "" ? undefined : value);

export const ZEnv = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
  DATABASE_URL: z.preprocess(emptyAsUndefined, ZPostgresUrl.optional()),
  PORT: z.preprocess(emptyAsUndefined, ZPort.default(3000)),
  HOST: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  SCALEBOARD_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default(".scaleboard")),
  SCALEBOARD_AUTH: z.preprocess(emptyAsUndefined, z.enum(["on", "off"]).optional()),
  SCALEBOARD_WORKERS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number({ message: "expected a number" }).int("expected a whole number").min(0).max(64).default(1),
  ),
  SCALEBOARD_PUBLIC_URL: z.preprocess(emptyAsUndefined, z.url({ message: "expected a URL such as https://scaleboard.example.com" }).optional()),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(["debug", "info", "warn", "error"]).default("info")),
  BETTER_AUTH_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, "expected at least 32 characters").optional()),
  SIGNUP: z.preprocess(emptyAsUndefined, z.enum(["open", "invite-only"]).default("open")),
  GITHUB_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  GITHUB_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
  GOOGLE_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  GOOGLE_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
  OIDC_DISCOVERY_URL: z.preprocess(emptyAsUndefined, z.url({ message: "expected the issuer's .well-known/openid-configuration URL" }).optional()),
  OIDC_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  OIDC_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
  OIDC_NAME: z.preprocess(emptyAsUndefined, z.string().default("Single sign-on")),
});
export type Env = z.infer<typeof ZEnv>;

export class EnvError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`Invalid environment variable ${variable}: ${problem}`);
    this.name = "EnvError";
  }
}

/** Parses the environment once; the first bad variable is reported in one line naming it. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = ZEnv.safeParse(source);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? "environment");
  const raw = source[variable];
  const shown = raw === undefined ? "" : ` (got ${JSON.stringify(variable === "DATABASE_URL" ? maskDatabaseUrl(raw) : raw)})`;
  throw new EnvError(variable, `${issue?.message ?? "invalid value"}${shown}`);
}

let cached: Env | undefined;
export function env(): Env {
  cached ??= parseEnv();
  return cached;
}

/** Sign-in is off by default only with the embedded database (a laptop); never by default on a shared one. */
export function authMode(parsed: Env = env()): "on" | "off" {
  return parsed.SCALEBOARD_AUTH ?? (parsed.DATABASE_URL ? "on" : "off");
}

export function dataDir(parsed: Env = env()): string {
  return path.resolve(parsed.SCALEBOARD_DATA_DIR);
}

/** The URL with its password replaced, safe to print in logs and errors. */
export function maskDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "****";
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]+):[^@]*@/, "://$1:****@");
  }
}
