import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { failOnBrowserErrors } from "./support.ts";

/**
 * The app shell in a real browser, against a fresh install started by `npm start`
 * (see playwright.config.ts): no projects, one worker, embedded PostgreSQL.
 */

// Any console error or uncaught exception fails the test: a missing favicon (404), a hydration
// mismatch or a failed tRPC call all surface here first.
failOnBrowserErrors();

/** Clicks are lost until React has hydrated the button, so retry until the click takes effect. */
async function toggleTheme(page: Page, expectDark: boolean) {
  const html = page.locator("html");
  await expect(async () => {
    const isDark = await html.evaluate((element) => element.classList.contains("dark"));
    if (isDark !== expectDark) await page.getByRole("button", { name: /Switch to (dark|light) mode/ }).click();
    await expect(html).toHaveClass(expectDark ? /\bdark\b/ : /^(?!.*\bdark\b)/, { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
}

test("home page renders the shell and the empty state", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveTitle("Scaleboard");
  await expect(page.getByRole("heading", { level: 1, name: "Projects" })).toBeVisible();
  // This server runs with sign-in off (embedded database, SCALEBOARD_AUTH unset): the shell says so.
  await expect(page.getByTestId("local-mode-banner")).toBeVisible();
  await expect(page.getByTestId("local-mode-banner")).toContainText("Local single-user mode");

  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Projects" })).toHaveAttribute("href", "/");
  await expect(nav.getByRole("link", { name: "Projects" })).toHaveAttribute("aria-current", "page");
  await expect(nav.getByRole("link", { name: "Workers" })).toHaveAttribute("href", "/workers");

  const empty = page.getByTestId("empty-projects");
  await expect(empty.getByRole("heading", { name: "No projects yet" })).toBeVisible();
  await expect(empty.locator("code")).toHaveText("npx scaleboard apply examples/mlp-width-scaling.yaml");
});

test("health badge turns ok once the worker has checked in", async ({ page }) => {
  await page.goto("/");
  const badge = page.getByTestId("health-badge");
  // The worker heartbeats every 5 s and the badge polls every 5 s.
  await expect(badge).toHaveAttribute("data-status", "ok", { timeout: 45_000 });
  await expect(badge).toHaveText("All systems up");
  // With a worker alive, the home page does not nag about starting one.
  await expect(page.getByTestId("empty-workers")).toHaveCount(0);
});

test("workers page lists one alive worker and the database", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workers" }).click();
  await expect(page).toHaveURL(/\/workers$/);
  await expect(page).toHaveTitle("Workers · Scaleboard");
  await expect(page.getByRole("heading", { level: 1, name: "Workers" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workers" })).toHaveAttribute(
    "aria-current",
    "page",
  );

  await expect(page.getByTestId("database-status")).toHaveText(/^PostgreSQL \d+(\.\d+)?\S* up, [\d.]+ ms$/);
  const rows = page.getByTestId("worker-table").locator("tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first().locator("td").last()).toHaveText("alive");
});

test("dark mode toggles the html class and survives a reload", async ({ page }, testInfo) => {
  const screenshots = testInfo.project.outputDir;
  await page.goto("/");
  const html = page.locator("html");
  await expect(html).not.toHaveClass(/\bdark\b/);
  await expect(page.getByTestId("empty-projects")).toBeVisible();
  await page.screenshot({ path: path.join(screenshots, "home-light.png"), fullPage: true });

  await toggleTheme(page, true);
  expect(await page.evaluate(() => localStorage.getItem("scaleboard-theme"))).toBe("dark");

  await page.reload();
  // The inline script in <head> sets the class before paint; the toggle then offers light mode.
  await expect(html).toHaveClass(/\bdark\b/);
  await expect(page.getByRole("button", { name: "Switch to light mode" })).toBeVisible();
  await expect(page.getByTestId("empty-projects")).toBeVisible();
  await page.screenshot({ path: path.join(screenshots, "home-dark.png"), fullPage: true });

  await toggleTheme(page, false);
  await page.reload();
  await expect(html).not.toHaveClass(/\bdark\b/);
});

test("GET /api/health answers JSON with the database up", async ({ request }) => {
  const response = await request.get("/api/health");
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toContain("application/json");
  expect(response.headers()["cache-control"]).toContain("no-store");
  const health = await response.json();
  expect(health.database.up).toBe(true);
  expect(health.database.error).toBeNull();
  expect(typeof health.database.serverVersion).toBe("string");
  expect(["ok", "degraded"]).toContain(health.status);
});
