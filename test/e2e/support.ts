import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * Collects every console error and uncaught exception of a page: a missing favicon (404), a hydration
 * mismatch or a failed tRPC call all surface here first. Call `watch(page)` for each page (beforeEach).
 */
export function browserErrorLog() {
  const errors: string[] = [];
  return {
    errors,
    watch(page: Page) {
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`console.error: ${message.text()} (${message.location().url})`);
      });
      page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
    },
    clear() {
      errors.length = 0;
    },
  };
}

/** `scaleboard apply FILE --yes --team ID` straight on the main e2e server's embedded database. */
export function applyOnE2eServer(file: string, teamId: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const { url } = JSON.parse(readFileSync(path.join(process.env.E2E_DATA_DIR!, "postgres.json"), "utf8")) as { url: string };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/scaleboard.js", "apply", file, "--yes", "--team", teamId], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: url, FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
