import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedPostgresError, startEmbeddedPostgres } from "../../server/database/embedded-postgres.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function sql(url: string, text: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe("embedded PostgreSQL", () => {
  it("keeps data across restarts, refuses a second server on the same folder, and stops cleanly", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "sb-embedded-"));
    dirs.push(dataDir);
    const first = await startEmbeddedPostgres({ dataDir });
    await sql(first.url, "CREATE TABLE kept (value TEXT); INSERT INTO kept VALUES ('still here')");

    const second = await startEmbeddedPostgres({ dataDir }).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(EmbeddedPostgresError);
    expect((second as Error).message).toMatch(/already in use/);

    await first.stop();
    expect(existsSync(path.join(first.clusterDir, "postmaster.pid"))).toBe(false);

    const again = await startEmbeddedPostgres({ dataDir });
    expect(await sql(again.url, "SELECT value FROM kept")).toEqual([{ value: "still here" }]);
    await again.stop();
  });
});
