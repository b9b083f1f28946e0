import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { embeddedDatabaseUrl, findFreePort } from "../../server/database/embedded-postgres.ts";
import { readMigrations } from "../../server/database/migrate.ts";
import { killGroup, startLogged, type LoggedProcess } from "../helpers/fault-processes.ts";

/**
 * Two `npm start` on the same data folder at the same moment: one runs, with the migrations applied
 * once; the other says plainly that the port or the database is taken and exits non-zero; and the
 * folder still starts cleanly afterwards. Needs a production build (npm test builds one first).
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const DIST = process.env.SCALEBOARD_NEXT_DIST_DIR || ".next";
const TAKEN = /already in use|being started by another process/;

let dataDir: string;
const started: LoggedProcess[] = [];

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, DIST, "BUILD_ID"))) {
    throw new Error(
      `no production build in ${DIST}: run \`npx next build\` first (npm test does), or set SCALEBOARD_NEXT_DIST_DIR`,
    );
  }
  dataDir = await mkdtemp(path.join(os.tmpdir(), "scaleboard-faults-start-"));
});
afterAll(async () => {
  await Promise.all(started.map((entry) => killGroup(entry)));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function npmStart(port: number): LoggedProcess {
  const { DATABASE_URL: _unused, ...inherited } = process.env;
  const entry = startLogged("npm", ["start", "--silent"], {
    env: {
      ...inherited,
      SCALEBOARD_DATA_DIR: dataDir,
      PORT: String(port),
      SCALEBOARD_WORKERS: "0",
      SCALEBOARD_AUTH: "off",
      DATABASE_URL: "",
    },
  });
  started.push(entry);
  return entry;
}

/** Stops an `npm start` the way Ctrl-C would and waits for it to exit. */
async function stopGracefully(entry: LoggedProcess): Promise<number | null> {
  entry.child.kill("SIGTERM");
  const exit = await entry.exited;
  return exit.code;
}

async function appliedMigrations(port: number): Promise<{ migration_name: string; copies: number }[]> {
  const client = new pg.Client({ connectionString: embeddedDatabaseUrl(port) });
  await client.connect();
  try {
    return (
      await client.query(
        `SELECT migration_name, count(*)::int AS copies FROM "_prisma_migrations" WHERE finished_at IS NOT NULL GROUP BY migration_name`,
      )
    ).rows;
  } finally {
    await client.end();
  }
}

function embeddedPort(output: string): number {
  const match = /embedded PostgreSQL in .* on port (\d+)/.exec(output);
  if (!match) throw new Error(`no embedded PostgreSQL port in:\n${output}`);
  return Number(match[1]);
}

describe("two npm start on the same data folder", () => {
  it("runs one, refuses the other clearly, applies migrations once, and leaves the folder intact", {
    timeout: 150_000,
  }, async () => {
    const port = await findFreePort();
    const first = npmStart(port);
    const second = npmStart(port);
    onTestFailed(() =>
      console.error(started.map((entry, index) => `--- start ${index + 1}\n${entry.output()}`).join("\n")),
    );

    // Whichever loses the race exits non-zero, saying what is taken; the other becomes ready.
    const loser = await Promise.race([first.exited.then(() => first), second.exited.then(() => second)]);
    const winner = loser === first ? second : first;
    expect((await loser.exited).code).not.toBe(0);
    expect(loser.output()).toMatch(TAKEN);
    expect(loser.output()).not.toMatch(/migrations: \d+ applied/);
    await winner.printed(/ready in \d+ ms/, 90_000);
    expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);

    const expected = (await readMigrations()).length;
    const databasePort = embeddedPort(winner.output());
    const migrations = await appliedMigrations(databasePort);
    expect(migrations).toHaveLength(expected);
    expect(migrations.filter((row) => row.copies !== 1)).toEqual([]);

    // A third start while it runs: the port is taken, said plainly, nothing touched.
    const third = npmStart(port);
    expect((await third.exited).code).not.toBe(0);
    expect(third.output()).toMatch(new RegExp(`Port ${port} is already in use`));
    expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);

    // The folder survived: it stops cleanly and starts again with nothing left to migrate.
    expect(await stopGracefully(winner)).toBe(0);
    const again = npmStart(port);
    await again.printed(/ready in \d+ ms/, 90_000);
    expect(again.output()).toContain(`migrations: 0 applied, ${expected} already up to date`);
    expect(await stopGracefully(again)).toBe(0);
  });
});
