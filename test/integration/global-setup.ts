import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../server/database/embedded-postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A URL to a database on the test server from which each test file creates its own database. */
    adminDatabaseUrl: string;
  }
}

/**
 * Integration tests run against a real PostgreSQL: TEST_DATABASE_URL when given (any database on
 * that server; each test file creates its own), otherwise an embedded server started here.
 */
export default async function setup(project: TestProject) {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide("adminDatabaseUrl", external);
    return;
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "scaleboard-test-"));
  const embedded = await startEmbeddedPostgres({ dataDir });
  project.provide("adminDatabaseUrl", embedded.url);
  return async () => {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
