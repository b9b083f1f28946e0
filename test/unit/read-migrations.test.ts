import { createHash } from "node:crypto";
import { mkdtemp, mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, readMigrations } from "../../server/database/migrate.ts";

describe("readMigrations", () => {
  it("reads Prisma's layout in name order with sha256 checksums", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sb-migrations-"));
    for (const name of ["20260102000000_second", "20260101000000_first"]) {
      await mkdir(path.join(dir, name));
      await writeFile(path.join(dir, name, "migration.sql"), `-- ${name}\nSELECT 1;\n`);
    }
    await mkdir(path.join(dir, "20260103000000_no_sql_yet"));
    await writeFile(path.join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');

    const migrations = await readMigrations(dir);
    expect(migrations.map((migration) => migration.name)).toEqual(["20260101000000_first", "20260102000000_second"]);
    const expected = createHash("sha256").update("-- 20260101000000_first\nSELECT 1;\n").digest("hex");
    expect(migrations[0]?.checksum).toBe(expected);
  });

  it("finds the committed migrations with the lock file Prisma expects", async () => {
    const migrations = await readMigrations(DEFAULT_MIGRATIONS_DIR);
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations[0]?.name).toMatch(/^\d{14}_init$/);
    const lock = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, "migration_lock.toml"), "utf8");
    expect(lock).toContain('provider = "postgresql"');
  });
});
