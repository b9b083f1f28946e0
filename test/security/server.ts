import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import superjson from "superjson";
import { findFreePort } from "../../server/database/embedded-postgres.ts";
import { killGroup, startLogged, type LoggedProcess } from "../helpers/fault-processes.ts";

/**
 * A real Scaleboard, started exactly as `npm start` starts it (server/cli/start.ts: embedded
 * PostgreSQL in a fresh data folder, migrations, `next start`, and `workers` worker processes),
 * with sign-in ON. Each security test file starts its own in beforeAll and stops it in afterAll.
 */
export type SecurityServer = {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The embedded PostgreSQL's URL (superuser), for setting up state or reading it back. */
  databaseUrl: string;
  dataDir: string;
  process: LoggedProcess;
  /** Everything start.ts and its children printed so far. */
  output: () => string;
  /** pid of the `next start` web process (a child of start.ts). */
  webPid: () => number;
  stop: () => Promise<void>;
};

export type StartOptions = {
  /** Worker processes beside the web app (SCALEBOARD_WORKERS); default 0. */
  workers?: number;
  /** Extra environment for start.ts (and so for its web server and workers). */
  env?: Record<string, string>;
};

export const ROOT = path.resolve(import.meta.dirname, "../..");

export async function startServer(options: StartOptions = {}): Promise<SecurityServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "scaleboard-security-"));
  const port = await findFreePort();
  const child = startLogged(process.execPath, ["--import", "tsx", "server/cli/start.ts"], {
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      SCALEBOARD_DATA_DIR: dataDir,
      DATABASE_URL: "",
      SCALEBOARD_AUTH: "on",
      SCALEBOARD_WORKERS: String(options.workers ?? 0),
      SCALEBOARD_PUBLIC_URL: "",
      SIGNUP: "",
      BETTER_AUTH_SECRET: `security-suite-${randomBytes(16).toString("hex")}`,
      NEXT_TELEMETRY_DISABLED: "1",
      ...options.env,
    },
  });
  try {
    await child.printed(/Scaleboard is running at/, 180_000);
  } catch (error) {
    await killGroup(child).catch(() => undefined);
    throw error;
  }
  const { url: databaseUrl } = JSON.parse(readFileSync(path.join(dataDir, "postgres.json"), "utf8")) as { url: string };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    databaseUrl,
    dataDir,
    process: child,
    output: child.output,
    // start.ts runs the product in a process group of its own (a second start.ts), so search every descendant.
    webPid: () => descendantPids(child.pid).find((pid) => commandLine(pid).includes("next"))!,
    stop: async () => {
      child.signalGroup("SIGTERM");
      const exited = await Promise.race([
        child.exited.then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 20_000)),
      ]);
      if (!exited) await killGroup(child);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function descendantPids(pid: number): number[] {
  const found: number[] = [];
  const queue = childPids(pid);
  while (queue.length) {
    const next = queue.shift()!;
    found.push(next);
    queue.push(...childPids(next));
  }
  return found;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Resident memory of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** A signed-in browser-like client: keeps the session cookie, sends the Origin of the app. */
export type Session = { email: string; password: string; cookie: string; userId: string };

const ADDRESS_HEADERS = (server: SecurityServer) => ({ origin: server.url, "content-type": "application/json" });

/** Signs up over HTTP (better-auth email + password); the first account of a server gets a team. */
export async function signUp(
  server: SecurityServer,
  name = `user-${randomBytes(4).toString("hex")}`,
): Promise<Session> {
  const email = `${name}@example.test`;
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const response = await fetch(`${server.url}/api/auth/sign-up/email`, {
    method: "POST",
    headers: ADDRESS_HEADERS(server),
    body: JSON.stringify({ email, password, name }),
  });
  if (!response.ok) throw new Error(`sign-up of ${email} failed: ${response.status} ${await response.text()}`);
  const cookie = sessionCookie(response);
  const session = await fetch(`${server.url}/api/auth/get-session`, { headers: { cookie } });
  const body = (await session.json()) as { user: { id: string } };
  return { email, password, cookie, userId: body.user.id };
}

/** POST /api/auth/sign-in/email; the Response is returned as is (status, headers, body). */
export function signInRequest(
  server: SecurityServer,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${server.url}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { ...ADDRESS_HEADERS(server), ...headers },
    body: JSON.stringify({ email, password }),
  });
}

export function sessionCookie(response: Response): string {
  const cookies = response.headers.getSetCookie().map((line) => line.split(";")[0]!);
  if (!cookies.length) throw new Error(`no session cookie in the response (${response.status})`);
  return cookies.join("; ");
}

export type TrpcResult<T> = {
  status: number;
  data?: T;
  error?: { message: string; code?: string; data?: unknown };
  raw: string;
};

/**
 * Calls a tRPC procedure over HTTP as the app does (superjson). `auth` is a Session (cookie +
 * Origin) or an API key string (Bearer). Queries go as GET, mutations as POST.
 */
export async function trpc<T = unknown>(
  server: SecurityServer,
  auth: Session | string | null,
  procedure: string,
  input: unknown,
  kind: "query" | "mutation" = "query",
): Promise<TrpcResult<T>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (typeof auth === "string") headers.authorization = `Bearer ${auth}`;
  else if (auth) Object.assign(headers, { cookie: auth.cookie, origin: server.url });
  const encoded = JSON.stringify(superjson.serialize(input));
  const response =
    kind === "query"
      ? await fetch(`${server.url}/api/trpc/${procedure}?input=${encodeURIComponent(encoded)}`, { headers })
      : await fetch(`${server.url}/api/trpc/${procedure}`, { method: "POST", headers, body: encoded });
  const raw = await response.text();
  let parsed: { result?: { data: unknown }; error?: { json: TrpcResult<T>["error"] } } = {};
  try {
    parsed = JSON.parse(raw);
  } catch {
    // not JSON (a 413 from a proxy, say): the raw text is kept
  }
  if (parsed.result)
    return { status: response.status, data: superjson.deserialize(parsed.result.data as never) as T, raw };
  return { status: response.status, error: parsed.error?.json ?? { message: raw }, raw };
}

/**
 * The signed-in user's first team; a user with none creates one (only a server's very first
 * account gets a team at sign-up).
 */
export async function teamOf(
  server: SecurityServer,
  session: Session,
  name = `Team ${session.email.split("@")[0]}`,
): Promise<string> {
  const teams = await trpc<{ id: string }[]>(server, session, "team.list", undefined);
  if (teams.data?.[0]) return teams.data[0].id;
  const created = await trpc<{ id: string }>(server, session, "team.create", { name }, "mutation");
  if (!created.data?.id) throw new Error(`team.create: ${created.raw}`);
  return created.data.id;
}

/** An API key of the given scope in the team, minted by an admin session. */
export async function mintApiKey(
  server: SecurityServer,
  admin: Session,
  teamId: string,
  scope: "ingest" | "worker" | "full",
): Promise<string> {
  const created = await trpc<{ key: string }>(
    server,
    admin,
    "apiKey.create",
    { teamId, name: `${scope} key`, scope },
    "mutation",
  );
  if (!created.data?.key) throw new Error(`apiKey.create: ${created.raw}`);
  return created.data.key;
}
