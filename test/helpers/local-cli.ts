import { afterAll, beforeAll } from "vitest";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import { type CliResult, runScaleboard } from "./run-cli.ts";

/**
 * A test database for the file's tests (created before them, dropped after) and `cli(...args)`, which runs
 * `scaleboard ARGS` on it locally with sign-in off, as a single user on their own machine does.
 */
export function localCliSuite(): { readonly database: TestDatabase; cli: (...args: string[]) => Promise<CliResult> } {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  const current = () => {
    if (!database) throw new Error("localCliSuite: the database exists only inside the tests");
    return database;
  };
  return {
    get database() {
      return current();
    },
    cli: (...args) => runScaleboard(args, { DATABASE_URL: current().url, SCALEBOARD_AUTH: "" }),
  };
}
