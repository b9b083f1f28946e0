import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import { appRouter, createCaller, type AppRouter } from "../api/root.ts";
import { createTRPCContext } from "../api/trpc.ts";
import { startEmbeddedPostgres } from "../database/embedded-postgres.ts";
import { migrateDatabase } from "../database/migrate.ts";
import { createDb } from "../db.ts";
import { LOCAL_ADMIN_ID } from "../domain/auth/ensure-local-admin.ts";
import { dataDir, maskDatabaseUrl, parseEnv } from "../env.ts";
import { startProducerQueue } from "../queue/boss.ts";

/**
 * What the CLI talks to: a Scaleboard server over HTTP (--server, with an API key), or the
 * database directly (DATABASE_URL, the embedded one a running `npm start` uses, or one it starts).
 * Both go through the same tRPC procedures, so the rules are the same.
 */
export type Api = ReturnType<typeof createCaller>;
export type Backend = { api: Api; teamId: string; describe: string; close: () => Promise<void> };

export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

type RemoteProcedure = { query: (input: unknown) => Promise<unknown>; mutate: (input: unknown) => Promise<unknown> };

/** The HTTP client with the same call shape as a server-side caller: api.spec.plan(input). */
function remoteApi(server: string, apiKey: string): Api {
  // Procedures are looked up by name at run time; the typed client has no string index.
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${server.replace(/\/$/, "")}/api/trpc`,
        transformer: superjson,
        headers: { authorization: `Bearer ${apiKey}` },
      }),
    ],
  }) as unknown as Record<string, Record<string, RemoteProcedure>>;
  return new Proxy({} as Api, {
    get: (_target, namespace: string) =>
      new Proxy(
        {},
        {
          get: (_inner, name: string) => (input: unknown) => {
            const procedure = client[namespace]![name]!;
            return MUTATIONS.has(`${namespace}.${name}`) ? procedure.mutate(input) : procedure.query(input);
          },
        },
      ),
  });
}

const MUTATIONS = new Set(
  // At run time procedures is flat, keyed by dotted path; tRPC types it as the nested router record.
  Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)
    .filter(([, procedure]) => procedure._def.type === "mutation")
    .map(([name]) => name),
);

/** The URL of the embedded PostgreSQL a running `npm start` uses, if one runs for this data folder. */
export function runningEmbeddedUrl(folder: string): string | null {
  const file = path.join(folder, "postgres.json");
  if (!existsSync(file)) return null;
  try {
    const info = JSON.parse(readFileSync(file, "utf8")) as { url?: string; pid?: number };
    if (!info.url || !info.pid) return null;
    process.kill(info.pid, 0);
    return info.url;
  } catch {
    return null;
  }
}

/**
 * The database a local command uses: DATABASE_URL, else the embedded PostgreSQL a running `npm start`
 * uses, else one started for this command (stopEmbedded then stops it).
 */
export async function openLocalDatabase(): Promise<{ url: string; stopEmbedded: (() => Promise<void>) | null }> {
  const env = parseEnv();
  const url = env.DATABASE_URL ?? runningEmbeddedUrl(dataDir(env));
  if (url) return { url, stopEmbedded: null };
  const embedded = await startEmbeddedPostgres({ dataDir: dataDir(env) });
  return { url: embedded.url, stopEmbedded: embedded.stop };
}

async function pickTeam(api: Api, wanted: string | undefined, remote = false): Promise<string> {
  const session = await api.viewer.session();
  if (remote && !session.apiKey && !session.user)
    throw new CliError(
      "The server did not accept the API key in SCALEBOARD_API_KEY: it is invalid, expired or revoked",
      1,
    );
  const teams = session.teams;
  if (wanted) {
    const team = teams.find(
      (candidate) => candidate.slug === wanted || candidate.id === wanted || candidate.name === wanted,
    );
    if (!team)
      throw new CliError(
        `No team "${wanted}" here (teams: ${teams.map((candidate) => candidate.slug).join(", ") || "none"})`,
        1,
      );
    return team.id;
  }
  if (teams.length === 1) return teams[0]!.id;
  if (teams.length === 0) throw new CliError("This account is in no team yet: create one in the web app first", 1);
  throw new CliError(
    `You are in several teams; choose one with --team (${teams.map((team) => team.slug).join(", ")})`,
    2,
  );
}

/** databaseUrl: a database the caller already opened (and stops itself), instead of openLocalDatabase's. */
export async function openBackend(options: { server?: string; team?: string; databaseUrl?: string }): Promise<Backend> {
  if (options.server) {
    const apiKey = parseEnv().SCALEBOARD_API_KEY;
    if (!apiKey) throw new CliError("--server needs an API key in SCALEBOARD_API_KEY (create one on the Team page)", 2);
    const api = remoteApi(options.server, apiKey);
    try {
      return {
        api,
        teamId: await pickTeam(api, options.team, true),
        describe: options.server,
        close: async () => undefined,
      };
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`Cannot use ${options.server}: ${(error as Error).message}`, 4);
    }
  }

  const { url, stopEmbedded } = options.databaseUrl
    ? { url: options.databaseUrl, stopEmbedded: null }
    : await openLocalDatabase();
  try {
    await migrateDatabase(url);
  } catch (error) {
    await stopEmbedded?.();
    throw new CliError(`Cannot reach the database at ${maskDatabaseUrl(url)}: ${(error as Error).message}`, 4);
  }
  const db = createDb(url);
  let queue: Awaited<ReturnType<typeof startProducerQueue>> | null = null;
  const getQueue = async () => {
    queue ??= await startProducerQueue(url);
    return queue.queue;
  };

  // Direct database access is full trust: act as the local admin, or as an admin of the chosen team.
  const local = await db.user.findUnique({ where: { id: LOCAL_ADMIN_ID }, select: { id: true } });
  let userId = local?.id ?? null;
  if (!userId || options.team) {
    const teams = await db.team.findMany({
      select: {
        id: true,
        slug: true,
        name: true,
        memberships: { where: { role: "admin" }, select: { userId: true }, take: 1 },
      },
    });
    const team = options.team
      ? teams.find((candidate) => [candidate.slug, candidate.id, candidate.name].includes(options.team!))
      : teams.length === 1
        ? teams[0]
        : undefined;
    if (!team) {
      if (!userId) {
        const { ensureLocalAdmin } = await import("../domain/auth/ensure-local-admin.ts");
        userId = (await ensureLocalAdmin(db)).userId;
      } else if (options.team) {
        throw new CliError(
          `No team "${options.team}" (teams: ${teams.map((candidate) => candidate.slug).join(", ")})`,
          1,
        );
      }
    } else {
      userId = team.memberships[0]?.userId ?? userId;
    }
    if (!userId && team)
      throw new CliError(
        `Team "${team.slug}" has no admin, and commands on the database act as one of its admins: make a member admin on the Team page, or use --server URL with an API key`,
        1,
      );
  }
  const api = createCaller(
    createTRPCContext({
      db,
      actor: { kind: "user", userId: userId!, via: "local" },
      authMode: "off",
      localCli: true,
      queue: getQueue,
    }),
  );
  const teamId = await pickTeam(api, options.team);
  return {
    api,
    teamId,
    describe: `database ${maskDatabaseUrl(url)}`,
    close: async () => {
      await queue?.stop();
      await db.$disconnect();
      await stopEmbedded?.();
    },
  };
}
