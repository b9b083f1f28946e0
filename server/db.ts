import { createHash } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, type Prisma } from "./generated/prisma/client.ts";
import { env } from "./env.ts";

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

export function createDb(databaseUrl: string): Db {
  return new PrismaClient({
    adapter: new PrismaPg(
      { connectionString: databaseUrl, max: 10 },
      { statementNameGenerator: preparedStatementName },
    ),
  });
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
