import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";
import { env } from "./env.ts";

export type Db = PrismaClient;

export function createDb(databaseUrl: string): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: 10 }) });
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
