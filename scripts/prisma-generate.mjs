// Runs `prisma generate` offline. The stock Prisma CLI downloads a native schema engine
// before generating even though generation never runs it; when that engine is absent
// (no network), pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips the download.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };

function engineIsInstalled() {
  try {
    const enginesDir = path.dirname(require.resolve("@prisma/engines/package.json"));
    return readdirSync(enginesDir).some((name) => name.startsWith("schema-engine-"));
  } catch {
    return false;
  }
}

if (!env.PRISMA_SCHEMA_ENGINE_BINARY && !engineIsInstalled()) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}

const prismaCli = require.resolve("prisma/build/index.js");
if (!existsSync(prismaCli)) {
  console.error("prisma CLI not found; run npm ci first");
  process.exit(1);
}
const result = spawnSync(process.execPath, [prismaCli, "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
