import { startEmbeddedPostgres } from "../database/embedded-postgres.ts";
import { MigrationError, migrateDatabase } from "../database/migrate.ts";
import { dataDir, EnvError, maskDatabaseUrl, parseEnv } from "../env.ts";

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
async function main() {
  const env = parseEnv();
  const embedded = env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir: dataDir(env) });
  const url = env.DATABASE_URL ?? embedded!.url;
  try {
    const result = await migrateDatabase(url, { log: (line) => console.log(line) });
    console.log(
      `${maskDatabaseUrl(url)}: ${result.applied.length} migration(s) applied, ${result.alreadyApplied.length} already applied`,
    );
  } finally {
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof EnvError || error instanceof MigrationError ? error.message : error);
  process.exit(1);
});
