import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import superjson from "superjson";

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

/** A tRPC call over HTTP as the page would make it (same origin, superjson); fails the test on any error. */
export async function trpc<T>(request: APIRequestContext, baseURL: string, procedure: string, input: unknown): Promise<T> {
  const response = await request.post(`/api/trpc/${procedure}`, { headers: { origin: baseURL }, data: superjson.serialize(input) });
  const body = (await response.json()) as { result?: { data: Parameters<typeof superjson.deserialize>[0] }; error?: unknown };
  expect(response.status(), `${procedure}: ${JSON.stringify(body.error)}`).toBe(200);
  return superjson.deserialize<T>(body.result!.data);
}
