import "dotenv/config";
import { defineConfig } from "prisma/config";

// Used by the Prisma CLI only (generate, and migrate status/deploy for users who have the engine).
// The app applies migrations itself at start-up (server/db/migrate.ts).
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
