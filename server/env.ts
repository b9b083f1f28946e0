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

const positiveNumber = (message = "expected a positive number") =>
  z.coerce.number({ message }).refine((value) => Number.isFinite(value) && value > 0, message);

/** 1/true/yes/on or 0/false/no/off; anything else is an error naming the variable. */
const ZFlag = z
  .string()
  .trim()
  .toLowerCase()
  .refine(
    (value) => ["1", "true", "yes", "on", "0", "false", "no", "off"].includes(value),
    "expected 1 or 0 (true/false, yes/no, on/off)",
  )
  .transform((value) => ["1", "true", "yes", "on"].includes(value));

/**
 * Addresses of reverse proxies whose X-Forwarded-For is believed: IPv4/IPv6 addresses or CIDR
 * ranges, comma-separated; `loopback` and `private` name the usual ranges.
 */
const ZProxyList = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean),
  )
  .refine(
    (entries) =>
      entries.every(
        (entry) => entry === "loopback" || entry === "private" || /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry),
      ),
    "expected comma-separated IP addresses or CIDR ranges (or loopback, private)",
  );

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
  SCALEBOARD_PUBLIC_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ message: "expected a URL such as https://scaleboard.example.com" }).optional(),
  ),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(["debug", "info", "warn", "error"]).default("info")),
  BETTER_AUTH_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, "expected at least 32 characters").optional()),
  SIGNUP: z.preprocess(emptyAsUndefined, z.enum(["open", "invite-only"]).default("open")),
  GITHUB_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  GITHUB_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
  GOOGLE_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  GOOGLE_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
  OIDC_DISCOVERY_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ message: "expected the issuer's .well-known/openid-configuration URL" }).optional(),
  ),
  OIDC_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  OIDC_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
  OIDC_NAME: z.preprocess(emptyAsUndefined, z.string().default("Single sign-on")),
  // Clients (CLI, remote workers) and command runs.
  SCALEBOARD_API_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ message: "expected the API's URL, such as http://localhost:3000/api/v1" }).optional(),
  ),
  SCALEBOARD_API_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
  // Workers.
  SCALEBOARD_ALLOW_COMMANDS: z.preprocess(emptyAsUndefined, ZFlag.default(false)),
  SCALEBOARD_RUN_AS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*\$?$|^\d+$/i, "expected a user name or uid")
      .optional(),
  ),
  SCALEBOARD_CHECKPOINT_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  SCALEBOARD_CHECKPOINT_STEPS: z.preprocess(emptyAsUndefined, positiveNumber().optional()),
  SCALEBOARD_CHECKPOINT_SECONDS: z.preprocess(emptyAsUndefined, positiveNumber().optional()),
  SCALEBOARD_STALE_SECONDS: z.preprocess(
    emptyAsUndefined,
    positiveNumber("expected a positive number of seconds").optional(),
  ),
  SCALEBOARD_CLAIM_POLL_MS: z.preprocess(
    emptyAsUndefined,
    positiveNumber("expected a positive number of milliseconds").default(1_000),
  ),
  SCALEBOARD_DATASETS_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  // Run artifacts (files uploaded per run); default <SCALEBOARD_DATA_DIR>/artifacts.
  SCALEBOARD_ARTIFACT_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  TF_BACKEND: z.preprocess(emptyAsUndefined, z.enum(["auto", "tfjs-node-gpu", "tfjs-node", "wasm", "cpu"]).optional()),
  // Web server.
  SCALEBOARD_TRUSTED_PROXIES: z.preprocess(emptyAsUndefined, ZProxyList.default([])),
  SCALEBOARD_MAX_METRIC_KEYS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number({ message: "expected a number" })
      .int("expected a whole number")
      .min(1, "expected at least 1")
      .max(1_000_000)
      .default(1_000),
  ),
  // Development aids.
  SCALEBOARD_NEXT_DIST_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  SCALEBOARD_SKIP_TYPECHECK: z.preprocess(emptyAsUndefined, ZFlag.default(false)),
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
  const shown =
    raw === undefined ? "" : ` (got ${JSON.stringify(variable === "DATABASE_URL" ? maskDatabaseUrl(raw) : raw)})`;
  throw new EnvError(variable, `${issue?.message ?? "invalid value"}${shown}`);
}

/**
 * The environment for a child process (spawn/fork's `env`): a copy of this process's variables as they are,
 * unparsed and including ones Scaleboard does not know (PATH, HOME, ...), with `extra` on top. The only other
 * place product code reads process.env; nothing writes it.
 */
export function environmentForChild(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
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
