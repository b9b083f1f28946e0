import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { MigrationError, migrateDatabase, pendingMigrations, readMigrations } from "../../server/database/migrate.ts";
import { createEmptyDatabase } from "../helpers/database.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function emptyDatabase() {
  const database = await createEmptyDatabase();
  cleanups.push(database.drop);
  return database;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sb-migrations-"));
  for (const [name, sql] of Object.entries(files)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

describe("migrateDatabase", () => {
  it("applies every committed migration to a fresh database and records them in Prisma's format", async () => {
    const { url } = await emptyDatabase();
    const committed = await readMigrations();
    expect(await pendingMigrations(url)).toEqual(committed.map((migration) => migration.name));

    const result = await migrateDatabase(url);
    expect(result.applied).toEqual(committed.map((migration) => migration.name));

    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
    }>(
      url,
      `SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows.map((row) => row.migration_name)).toEqual(committed.map((migration) => migration.name));
    expect(rows.map((row) => row.checksum)).toEqual(committed.map((migration) => migration.checksum));
    expect(rows.every((row) => row.finished_at instanceof Date && row.applied_steps_count === 1)).toBe(true);
    expect(await pendingMigrations(url)).toEqual([]);

    const again = await migrateDatabase(url);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toHaveLength(committed.length);
  });

  it("applies each migration once when several processes migrate at the same moment", async () => {
    const { url } = await emptyDatabase();
    const results = await Promise.all([migrateDatabase(url), migrateDatabase(url), migrateDatabase(url)]);
    const committed = await readMigrations();
    const appliedTotal = results.flatMap((result) => result.applied);
    expect(appliedTotal.sort()).toEqual(committed.map((migration) => migration.name).sort());
    const rows = await query<{ migration_name: string; count: string }>(
      url,
      `SELECT migration_name, count(*) FROM "_prisma_migrations" GROUP BY migration_name`,
    );
    expect(rows.every((row) => row.count === "1")).toBe(true);
  });

  it("rolls back a failing migration, names it, and keeps the ones before it", async () => {
    const { url } = await emptyDatabase();
    const dir = await migrationsDir({
      "20260101000000_good": `CREATE TABLE "Good" ("id" INTEGER PRIMARY KEY);`,
      "20260102000000_broken": `CREATE TABLE "Half" ("id" INTEGER PRIMARY KEY);\nINSERT INTO "Half" VALUES (1);\nSELECT * FROM "NoSuchTable";`,
      "20260103000000_later": `CREATE TABLE "Later" ("id" INTEGER PRIMARY KEY);`,
    });

    const error = await migrateDatabase(url, { migrationsDir: dir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe("20260102000000_broken");
    expect((error as Error).message).toMatch(/20260102000000_broken.*NoSuchTable/);

    const tables = await query<{ table_name: string }>(
      url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((row) => row.table_name)).toEqual(["Good", "_prisma_migrations"]);
    const recorded = await query<{ migration_name: string }>(url, `SELECT migration_name FROM "_prisma_migrations"`);
    expect(recorded.map((row) => row.migration_name)).toEqual(["20260101000000_good"]);
    expect(await pendingMigrations(url, dir)).toEqual(["20260102000000_broken", "20260103000000_later"]);
  });

  it("reports a migration edited after it was applied", async () => {
    const { url } = await emptyDatabase();
    const dir = await migrationsDir({ "20260101000000_one": `CREATE TABLE "One" ("id" INTEGER);` });
    await migrateDatabase(url, { migrationsDir: dir });
    await writeFile(path.join(dir, "20260101000000_one", "migration.sql"), `CREATE TABLE "One" ("id" BIGINT);`);
    const lines: string[] = [];
    const result = await migrateDatabase(url, { migrationsDir: dir, log: (line) => lines.push(line) });
    expect(result.checksumMismatches).toEqual(["20260101000000_one"]);
    expect(lines.join("\n")).toMatch(/20260101000000_one was edited/);
  });
});
