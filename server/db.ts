import { createHash } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient, type Prisma } from "./generated/prisma/client.ts";
import { env } from "./env.ts";
import { logger } from "./log.ts";

export type Db = PrismaClient;
/** What a domain step needs to read and write: the client, or a transaction of it (both satisfy it). */
export type DbClient = Prisma.TransactionClient;

const PREPARED_MARK = "/* prepared: ";

/**
 * A name for the statements marked with a leading comment `/* prepared: what *\/` (the hot, long
 * ones, like ingest's, which took 1-2 ms to plan on every call), so each connection parses them once
 * and PostgreSQL reuses a generic plan after its first five runs. Other statements stay unnamed: a
 * name per text would keep every one-off query prepared on every connection.
 */
function preparedStatementName(query: { sql: string }): string {
  if (!query.sql.startsWith(PREPARED_MARK)) return ""; // the unnamed statement
  return `sb_${createHash("md5").update(query.sql).digest("hex")}`;
}

/** Each client's database, for the pool `rawTransaction` opens beside Prisma's on first use. */
const rawPools = new WeakMap<Db, { url: string; pool: pg.Pool | null }>();

export function createDb(databaseUrl: string): Db {
  const db = new PrismaClient({
    adapter: new PrismaPg(
      { connectionString: databaseUrl, max: 10 },
      { statementNameGenerator: preparedStatementName },
    ),
  });
  rawPools.set(db, { url: databaseUrl, pool: null });
  return db;
}

/**
 * The pool of `rawTransaction`: pipelined connections (node-postgres sends a statement without
 * waiting for the answer to the one before), each statement limited to a minute. Idle connections
 * close after 5 s and never keep the process alive.
 */
function rawPool(db: Db): pg.Pool | null {
  const entry = rawPools.get(db);
  if (!entry) return null;
  if (!entry.pool) {
    entry.pool = new pg.Pool({
      connectionString: entry.url,
      max: 10,
      pipeline: true,
      statement_timeout: RAW_STATEMENT_TIMEOUT_MS,
      idleTimeoutMillis: 5_000,
      allowExitOnIdle: true,
    });
    // A connection's error (PostgreSQL restarting) would otherwise be an unhandled 'error' event that
    // ends the process, on the pool for an idle connection and on the client for one in use (also
    // between a transaction's statements, and for a second error after the first): every client
    // hears its own, the statements waiting on it fail, and the pool replaces it.
    entry.pool.on("connect", (client) => client.on("error", () => undefined));
    entry.pool.on("error", (error: Error & { code?: string }) =>
      logger().warn({ code: error.code }, `an idle database connection failed (${error.message}); it is replaced`),
    );
  }
  return entry.pool;
}

const RAW_STATEMENT_TIMEOUT_MS = 60_000;

/**
 * What a hot path's statements need: run a `Prisma.sql` statement and get its rows. Statements
 * issued without awaiting the one before run in the order issued (pipelined where the session can).
 */
export type SqlSession = { rows<T>(statement: Prisma.Sql): Promise<T[]> };

/** A session over a Prisma client or transaction (for callers already inside one): one statement at a time. */
export function prismaSession(client: DbClient | Db): SqlSession {
  let last: Promise<unknown> = Promise.resolve();
  return {
    rows: <T>(statement: Prisma.Sql) => {
      const next = last.then(
        () => client.$queryRaw<T[]>(statement),
        () => client.$queryRaw<T[]>(statement),
      );
      last = next.catch(() => undefined); // the order is kept; each caller hears its own failure
      return next;
    },
  };
}

/** One statement's rows, read on a pipelined connection of rawPool without a transaction (see rawTransaction). */
export async function rawRows<T>(db: Db, statement: Prisma.Sql): Promise<T[]> {
  const pool = rawPool(db);
  if (!pool) return db.$queryRaw<T[]>(statement);
  const name = preparedStatementName({ sql: statement.text });
  const result = await pool.query<T & pg.QueryResultRow>(
    name
      ? { name, text: statement.text, values: statement.values }
      : { text: statement.text, values: statement.values },
  );
  return result.rows;
}

/**
 * Runs `work` in one transaction on a pipelined connection of its own pool (rawPool), its statements
 * sent by node-postgres directly: a fifth of the CPU Prisma's query pipeline spends on each
 * statement (measured: 50 vs 230 µs), and statements issued together travel together (BEGIN with the
 * first, a batch's writes with each other), for paths that run a few small statements per request,
 * like logging points. Rows come back with node-postgres's types: keep such statements to text,
 * int4, float8, bool and bytea columns (no int8, numeric or timestamps, which it reads differently).
 * Falls back to a Prisma transaction for a client made elsewhere.
 */
export async function rawTransaction<T>(
  db: Db,
  work: (session: SqlSession) => Promise<T>,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  const timeoutMs = Math.round(options.timeoutMs ?? RAW_STATEMENT_TIMEOUT_MS);
  const pool = rawPool(db);
  if (!pool) return db.$transaction((tx) => work(prismaSession(tx)), { timeout: timeoutMs, maxWait: timeoutMs });
  const client = await pool.connect();
  let broken: Error | undefined;
  // The connection may fail between statements (PostgreSQL restarting): node-postgres then emits
  // 'error' on the client, which must be heard (unheard, it ends the process); the statements
  // waiting fail with it and the transaction is abandoned.
  const onError = (error: Error) => {
    broken = error;
  };
  client.on("error", onError);
  try {
    // Not awaited here: the work's first statement follows BEGIN on the wire; each statement's
    // answer waits for BEGIN's too, so a failed BEGIN fails the statement.
    const begun = Promise.all([
      client.query("BEGIN"),
      timeoutMs === RAW_STATEMENT_TIMEOUT_MS ? null : client.query(`SET LOCAL statement_timeout = ${timeoutMs}`),
    ]);
    begun.catch(() => undefined); // heard through every statement below
    const session: SqlSession = {
      rows: async <T>(statement: Prisma.Sql) => {
        const name = preparedStatementName({ sql: statement.text });
        const result = client.query<T & pg.QueryResultRow>(
          name
            ? { name, text: statement.text, values: statement.values }
            : { text: statement.text, values: statement.values },
        );
        const [, answer] = await Promise.all([begun, result]);
        return answer.rows;
      },
    };
    const answer = await work(session);
    await begun;
    await client.query("COMMIT");
    return answer;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: Error) => {
      broken = rollbackError; // the connection is unusable: the pool closes it rather than reuse it
    });
    throw error;
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}
const globalForDb = globalThis as unknown as { scaleboardDb?: Db };

/**
 * The process-wide client for the web server. `npm start` always hands the server a
 * DATABASE_URL (the embedded one when the user gave none).
 */
export function getDb(): Db {
  if (!globalForDb.scaleboardDb) {
    const url = env().DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set: start Scaleboard with `npm start`, which provides one.");
    globalForDb.scaleboardDb = createDb(url);
  }
  return globalForDb.scaleboardDb;
}
