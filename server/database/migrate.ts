import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";

/**
 * Applies prisma/migrations at start-up. The stock Prisma CLI cannot migrate offline
 * (it downloads a native engine), so this applier keeps Prisma's folder layout and its
 * `_prisma_migrations` table format, letting `prisma migrate status/deploy` read the same database.
 */

// The key Prisma's own migrate takes, so this applier and `prisma migrate deploy` exclude each other too.
const PRISMA_ADVISORY_LOCK_KEY = 72707369;

export const DEFAULT_MIGRATIONS_DIR = path.resolve(import.meta.dirname, "../../prisma/migrations");

export type Migration = { name: string; sql: string; checksum: string };
export type MigrationResult = { applied: string[]; alreadyApplied: string[]; checksumMismatches: string[] };

export class MigrationError extends Error {
  override name = "MigrationError";
  constructor(
    readonly migration: string,
    readonly cause: unknown,
  ) {
    super(
      `Migration ${migration} failed and was rolled back: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

export async function readMigrations(migrationsDir = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  if (!existsSync(migrationsDir)) return [];
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const file = path.join(migrationsDir, name, "migration.sql");
    if (!existsSync(file)) continue;
    const sql = await readFile(file, "utf8");
    migrations.push({ name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return migrations;
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Applies every pending migration, each in its own transaction, holding an advisory lock so
 * that processes starting together apply each migration once. A failing migration leaves the
 * database as it was and names itself in the error.
 */
export async function migrateDatabase(
  databaseUrl: string,
  options: { migrationsDir?: string; log?: (line: string) => void } = {},
): Promise<MigrationResult> {
  const migrations = await readMigrations(options.migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const result: MigrationResult = { applied: [], alreadyApplied: [], checksumMismatches: [] };
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK_KEY]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const done = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const appliedChecksums = new Map(done.rows.map((row) => [row.migration_name, row.checksum]));

    for (const migration of migrations) {
      const recorded = appliedChecksums.get(migration.name);
      if (recorded !== undefined) {
        result.alreadyApplied.push(migration.name);
        if (recorded !== migration.checksum) result.checksumMismatches.push(migration.name);
        continue;
      }
      const startedAt = new Date();
      try {
        await client.query("BEGIN");
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES ($1, $2, now(), $3, $4, 1)`,
          [randomUUID(), migration.checksum, migration.name, startedAt],
        );
        await client.query("COMMIT");
      } catch (error) {
        // The MigrationError says what failed; a ROLLBACK that fails too (connection gone) undoes the same by ending.
        await client.query("ROLLBACK").catch(() => undefined);
        throw new MigrationError(migration.name, error);
      }
      result.applied.push(migration.name);
      options.log?.(`applied migration ${migration.name}`);
    }
    for (const name of result.checksumMismatches) {
      options.log?.(`warning: migration ${name} was edited after it was applied (checksum differs)`);
    }
    return result;
  } finally {
    // A session lock: ending the connection just below releases it even if this unlock failed.
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** Names of migrations in the folder that the database has not applied. */
export async function pendingMigrations(databaseUrl: string, migrationsDir?: string): Promise<string[]> {
  const migrations = await readMigrations(migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const table = await client.query(`SELECT to_regclass('"_prisma_migrations"') AS name`);
    if (!table.rows[0]?.name) return migrations.map((migration) => migration.name);
    const done = await client.query<{ migration_name: string }>(
      `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const applied = new Set(done.rows.map((row) => row.migration_name));
    return migrations.filter((migration) => !applied.has(migration.name)).map((migration) => migration.name);
  } finally {
    await client.end();
  }
}
