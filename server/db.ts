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

/** The connection pool under each client: the same connections serve Prisma and `rawTransaction`. */
const pools = new WeakMap<Db, pg.Pool>();

export function createDb(databaseUrl: string): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  // An idle connection's error (PostgreSQL restarting) would otherwise be an unhandled 'error' event
  // that ends the process; the pool drops that connection and the next query opens a new one.
  pool.on("error", (error: Error & { code?: string }) =>
    logger().warn({ code: error.code }, `an idle database connection failed (${error.message}); it is replaced`),
  );
  const db = new PrismaClient({
    adapter: new PrismaPg(pool, { statementNameGenerator: preparedStatementName, disposeExternalPool: true }),
  });
  pools.set(db, pool);
  return db;
}

/** What a hot path's statements need: run a `Prisma.sql` statement and get its rows. */
export type SqlSession = { rows<T>(statement: Prisma.Sql): Promise<T[]> };

/** A session over a Prisma client or transaction (for callers already inside one). */
export function prismaSession(client: DbClient | Db): SqlSession {
  return { rows: <T>(statement: Prisma.Sql) => client.$queryRaw<T[]>(statement) };
}

/**
 * Runs `work` in one transaction on a connection of the client's own pool, its statements sent by
 * node-postgres directly: a fifth of the CPU Prisma's query pipeline spends on each statement
 * (measured: 50 vs 230 µs a statement), for paths that run a few small statements per request, like
 * logging points. Rows come back with node-postgres's types: keep such statements to text, int4,
 * float8, bool and bytea columns (no int8, numeric or timestamps, which it reads differently).
 * Falls back to a Prisma transaction for a client made elsewhere or whose pool has ended.
 */
export async function rawTransaction<T>(
  db: Db,
  work: (session: SqlSession) => Promise<T>,
  options: { timeoutMs: number },
): Promise<T> {
  const pool = pools.get(db);
  if (!pool || pool.ending || pool.ended)
    return db.$transaction((tx) => work(prismaSession(tx)), { timeout: options.timeoutMs, maxWait: options.timeoutMs });
  const client = await pool.connect();
  let broken: Error | undefined;
  // The connection may fail between statements (PostgreSQL restarting): node-postgres then emits
  // 'error' on the client, which must be heard (unheard, it ends the process); the next statement
  // fails with it and the transaction is abandoned.
  const onError = (error: Error) => {
    broken = error;
  };
  client.on("error", onError);
  try {
    await client.query(`BEGIN; SET LOCAL statement_timeout = ${Math.round(options.timeoutMs)}`);
    const session: SqlSession = {
      rows: async <T>(statement: Prisma.Sql) => {
        const name = preparedStatementName({ sql: statement.text });
        const result = await client.query<T & pg.QueryResultRow>(
          name
            ? { name, text: statement.text, values: statement.values }
            : { text: statement.text, values: statement.values },
        );
        return result.rows;
      },
    };
    const answer = await work(session);
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
