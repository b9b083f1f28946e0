import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { createDb, type Db } from "../../server/db.ts";
import { migrateDatabase } from "../../server/database/migrate.ts";

export type TestDatabase = { url: string; name: string; db: Db; drop: () => Promise<void> };

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A new, empty database on the test server; each test file gets its own. */
export async function createEmptyDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const adminUrl = inject("adminDatabaseUrl");
  const name = `sb_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** A new database with every migration applied and a Prisma client on it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const empty = await createEmptyDatabase();
  await migrateDatabase(empty.url);
  const db = createDb(empty.url);
  return {
    ...empty,
    db,
    drop: async () => {
      await db.$disconnect();
      await empty.drop();
    },
  };
}
