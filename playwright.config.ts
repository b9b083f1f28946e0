import { execFileSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

/**
 * Browser tests against the product started exactly as `npm start` starts it: embedded
 * PostgreSQL in a fresh temporary data folder, a worker process, `next start` on a free port.
 * `npm run test:e2e` checks for Chromium and builds the app before Playwright runs this.
 */

// Playwright cannot download a browser here; it drives the system Chromium (see scripts/check-chromium.mjs).
function chromiumPath(): string {
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `No Chromium found at ${candidates.join(", ")}: run \`sudo apt-get install -y chromium\` or set CHROMIUM_PATH.`,
  );
}

// The config is evaluated again in each test worker. The first evaluation (the runner) picks the
// port and data folder and leaves them in process.env, which the workers inherit, so every
// process agrees on one server.
function freePortSync(): number {
  const script = `const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})`;
  return Number(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }));
}

if (!process.env.E2E_PORT) process.env.E2E_PORT = String(freePortSync());
if (!process.env.E2E_DATA_DIR) {
  const created = mkdtempSync(path.join(os.tmpdir(), "scaleboard-e2e-"));
  process.env.E2E_DATA_DIR = created;
  // The web server (and its PostgreSQL) has been stopped by the time the runner exits.
  if (!process.env.E2E_KEEP_DATA) process.on("exit", () => rmSync(created, { recursive: true, force: true }));
}

// A second instance with sign-in on (test/e2e/teams.spec.ts), on its own port and data folder.
if (!process.env.E2E_AUTH_PORT) process.env.E2E_AUTH_PORT = String(freePortSync());
if (!process.env.E2E_AUTH_DATA_DIR) {
  const created = mkdtempSync(path.join(os.tmpdir(), "scaleboard-e2e-auth-"));
  process.env.E2E_AUTH_DATA_DIR = created;
  if (!process.env.E2E_KEEP_DATA) process.on("exit", () => rmSync(created, { recursive: true, force: true }));
}

const port = Number(process.env.E2E_PORT);
const dataDir = process.env.E2E_DATA_DIR;
const baseURL = `http://127.0.0.1:${port}`;
const authPort = Number(process.env.E2E_AUTH_PORT);
const authDataDir = process.env.E2E_AUTH_DATA_DIR;
const authBaseURL = `http://127.0.0.1:${authPort}`;

export default defineConfig({
  testDir: "test/e2e",
  outputDir: "test-results/e2e",
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: "list",
  // Two slow cores: server start, page hydration and process lifecycles all take their time.
  timeout: 90_000,
  expect: { timeout: 15_000 },
  use: {
    baseURL,
    browserName: "chromium",
    colorScheme: "light",
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromiumPath(),
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  webServer: [
    {
      command: "node --import tsx server/cli/start.ts",
      url: `${baseURL}/api/health`,
      env: {
        PORT: String(port),
        SCALEBOARD_DATA_DIR: dataDir,
        // Empty counts as unset: no shared database, so start.ts boots the embedded one.
        DATABASE_URL: "",
        SCALEBOARD_AUTH: "",
        HOST: "",
        SCALEBOARD_WORKERS: "",
        // The e2e tests run command specs on this server's own worker: its operator (this file) allows them.
        SCALEBOARD_ALLOW_COMMANDS: "1",
        NEXT_TELEMETRY_DISABLED: "1",
      },
      timeout: 180_000,
      reuseExistingServer: false,
      stdout: process.env.E2E_SERVER_LOG ? "pipe" : "ignore",
      stderr: "pipe",
      // start.ts stops the web server and worker, then embedded PostgreSQL, on SIGTERM.
      gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
    },
    {
      // Same command with sign-in on: a fresh instance that asks for its first account.
      command: "node --import tsx server/cli/start.ts",
      url: `${authBaseURL}/api/health`,
      env: {
        PORT: String(authPort),
        SCALEBOARD_DATA_DIR: authDataDir,
        DATABASE_URL: "",
        SCALEBOARD_AUTH: "on",
        // Auth on listens on 0.0.0.0 by default; the tests only need loopback.
        HOST: "127.0.0.1",
        SCALEBOARD_WORKERS: "0",
        SCALEBOARD_PUBLIC_URL: "",
        SIGNUP: "",
        BETTER_AUTH_SECRET: "e2e-test-secret-0123456789abcdefghijklmn",
        NEXT_TELEMETRY_DISABLED: "1",
      },
      timeout: 180_000,
      reuseExistingServer: false,
      stdout: process.env.E2E_SERVER_LOG ? "pipe" : "ignore",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
    },
  ],
});
