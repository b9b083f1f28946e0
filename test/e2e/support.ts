import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import superjson from "superjson";
import { runScaleboard, type CliResult } from "../helpers/run-cli.ts";

/**
 * Collects every console error and uncaught exception of a page: a missing favicon (404), a hydration
 * mismatch or a failed tRPC call all surface here first. Call `watch(page)` for each page (beforeEach).
 */
/** A browser error log whose every test must end with no error (registers the hooks in the calling spec file). */
export function failOnBrowserErrors() {
  const log = browserErrorLog();
  test.beforeEach(({ page }) => {
    log.clear();
    log.watch(page);
  });
  test.afterEach(() => {
    expect(log.errors, "the browser reported errors").toEqual([]);
  });
  return log;
}

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
export function applyOnE2eServer(file: string, teamId: string): Promise<CliResult> {
  const { url } = JSON.parse(readFileSync(path.join(process.env.E2E_DATA_DIR!, "postgres.json"), "utf8")) as {
    url: string;
  };
  return runScaleboard(["apply", file, "--yes", "--team", teamId], { DATABASE_URL: url, FORCE_COLOR: "0" });
}

/** A tRPC call over HTTP as the page would make it (same origin, superjson); fails the test on any error. */
export async function trpc<T>(
  request: APIRequestContext,
  baseURL: string,
  procedure: string,
  input: unknown,
): Promise<T> {
  const response = await request.post(`/api/trpc/${procedure}`, {
    headers: { origin: baseURL },
    data: superjson.serialize(input),
  });
  const body = (await response.json()) as {
    result?: { data: Parameters<typeof superjson.deserialize>[0] };
    error?: unknown;
  };
  expect(response.status(), `${procedure}: ${JSON.stringify(body.error)}`).toBe(200);
  return superjson.deserialize<T>(body.result!.data);
}
