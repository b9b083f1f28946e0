import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/**
 * The security suite starts real servers (`npm start`'s own start.ts) from test files; they need a
 * production build of the web app. Build it once here when none exists (the e2e tests, which run
 * before this suite in `npm test`, normally leave one behind), so no two servers race to build it.
 */
const ROOT = path.resolve(import.meta.dirname, "../..");

export default async function setup() {
  const distDir = process.env.SCALEBOARD_NEXT_DIST_DIR || ".next";
  if (existsSync(path.join(ROOT, distDir, "BUILD_ID"))) return;
  const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");
  console.log(`security suite: no build in ${distDir}; running next build…`);
  const result = spawnSync(process.execPath, [nextBin, "build"], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (result.status !== 0) throw new Error(`next build failed (exit ${result.status})`);
}
