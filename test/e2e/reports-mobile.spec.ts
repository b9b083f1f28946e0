import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { failOnBrowserErrors, trpc } from "./support.ts";

/**
 * Reports that work anywhere, in Chromium against the local single-user server (sign-in off, as
 * `npm start` runs it): nine runs logged over /api/v1 (three widths, three seeds each) go into a report
 * with a curves panel grouped by model.width, a "What differs" panel and a wide runs table. At 390 px
 * (a phone) neither the report nor its shared page scrolls sideways; Publish and Share come before the
 * first panel; a link made on http://127.0.0.1 says it opens only on this computer; the shared page has
 * no navigation and no banner; the grouped panel draws one mean line and one band per width; "Reports"
 * in the top navigation and "Add to report" on the compare page lead to reports.
 */

failOnBrowserErrors();

const PHONE = { width: 390, height: 844 };
const WIDTHS = [16, 64, 256];
const SEEDS = [0, 1, 2];

let teamId = "";
let projectId = "";
let reportId = "";
let runIds: string[] = [];
let shareUrl = "";

/** Nine runs in a fresh team's project, each with 20 val/loss points; the team cookie set for the page. */
async function nineRuns(page: Page, request: APIRequestContext, baseURL: string): Promise<void> {
  teamId = (await trpc<{ id: string }>(request, baseURL, "team.create", { name: "Mobile reports e2e" })).id;
  await showTeam(page, baseURL);
  const { key } = await trpc<{ key: string }>(request, baseURL, "apiKey.create", {
    teamId,
    name: "mobile reports",
    scope: "ingest",
  });
  const headers = { authorization: `Bearer ${key}` };
  for (const width of WIDTHS) {
    for (const seed of SEEDS) {
      const created = await request.post("/api/v1/runs", {
        headers,
        data: {
          project: "Mobile reports e2e",
          experiment: "widths",
          name: `mlp width=${width} seed=${seed}`,
          // Dotted keys, as a sweep's cells record them (the compare page groups by a run's top-level values).
          config: { "model.width": width, "model.depth": 2, seed, "optimizer.name": "adamw" },
        },
      });
      expect(created.status()).toBe(201);
      const run = (await created.json()) as { runId: string; projectId: string };
      projectId = run.projectId;
      runIds.push(run.runId);
      const points = Array.from({ length: 20 }, (_, index) => ({
        key: "val/loss",
        step: index * 10,
        value: 2 / Math.log2(width) + 1 / (index + 1) + seed * 0.02,
      }));
      expect((await request.post(`/api/v1/runs/${run.runId}/points`, { headers, data: { points } })).status()).toBe(
        200,
      );
      expect(
        (await request.post(`/api/v1/runs/${run.runId}/finish`, { headers, data: { status: "succeeded" } })).status(),
      ).toBe(200);
    }
  }
}

/** The UI shows the test's team (each test's page is a fresh browser context). */
async function showTeam(page: Page, baseURL: string): Promise<void> {
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL }]);
}

/** How far the page scrolls sideways: 0 when nothing is wider than the viewport. */
async function sidewaysScroll(page: Page): Promise<{ scrollWidth: number; viewport: number }> {
  return page.evaluate(() => ({
    scrollWidth: document.scrollingElement!.scrollWidth,
    viewport: window.innerWidth,
  }));
}

test.describe
  .serial("reports on a phone", () => {
    test("a report at 390 px: no sideways scroll, Publish and Share above the first panel, grouped curves, a local link says so", async ({
      page,
      request,
      baseURL,
    }, testInfo) => {
      test.setTimeout(180_000);
      runIds = [];
      await nineRuns(page, request, baseURL!);
      const report = await trpc<{ id: string }>(request, baseURL!, "report.create", {
        projectId,
        title: "Which width wins, on a phone?",
        body: "Three widths, three seeds each.\n\n| width | note |\n| --- | --- |\n| 16 | narrowest |\n| 256 | widest |",
        panels: [
          { kind: "curves", metric: "val/loss", x: "step", logX: false, logY: false, groupBy: "model.width" },
          { kind: "config-diff" },
          {
            kind: "table",
            columns: ["name", "status", "paramCount", "totalFlops", "wallClockSeconds", "model.width", "val/loss"],
          },
        ],
        runIds,
      });
      reportId = report.id;

      await page.setViewportSize(PHONE);
      await page.goto(`/projects/${projectId}/reports/${reportId}`);
      const curves = page.getByTestId("report-curves");
      // One mean line per width, each with its min-max band over the three seeds.
      await expect(curves.locator("canvas")).toHaveAttribute("data-series", "3");
      await expect(curves).toHaveAttribute("data-group-by", "model.width");
      await expect(curves).toHaveAttribute("data-lines", "3");
      await expect(curves).toHaveAttribute("data-bands", "3");
      await expect(curves.getByTestId("report-legend").locator("li")).toHaveText([
        /model\.width=16\s*\(3 runs\)/,
        /model\.width=64\s*\(3 runs\)/,
        /model\.width=256\s*\(3 runs\)/,
      ]);
      await expect(page.getByTestId("report-config-diff")).toBeVisible();
      await expect(page.getByTestId("report-table")).toBeVisible();

      // Nothing is wider than the phone: the wide tables scroll inside their own panels.
      const page390 = await sidewaysScroll(page);
      expect(page390.viewport).toBe(390);
      expect(page390.scrollWidth).toBeLessThanOrEqual(page390.viewport);
      // The What differs table is wider than the phone: it scrolls inside its panel (or a box of it).
      const diffPanel = await page.getByTestId("report-config-diff").evaluate((panel) => ({
        table: panel.querySelector("table")!.getBoundingClientRect().width,
        panel: panel.getBoundingClientRect().width,
      }));
      expect(diffPanel.table).toBeGreaterThan(diffPanel.panel);
      const canvasBox = await curves.locator("canvas").boundingBox();
      expect(canvasBox!.x + canvasBox!.width).toBeLessThanOrEqual(390);
      await page.screenshot({ path: testInfo.outputPath("report-390.png"), fullPage: true });

      // Publish and Share come before the first panel.
      const firstPanel = await page.getByTestId("report-panels").locator(":scope > div").first().boundingBox();
      const publish = await page.getByTestId("report-publish-live").boundingBox();
      expect(publish!.y).toBeLessThan(firstPanel!.y);
      await page.getByTestId("report-publish-live").click();
      await expect(page.getByTestId("report-publish-state")).toContainText("Published, live");
      const share = await page.getByTestId("share-create").boundingBox();
      expect(share!.y).toBeLessThan(firstPanel!.y);

      // A link to http://127.0.0.1 opens only here, and the page says so when it is made.
      await page.getByTestId("share-create").click();
      shareUrl = (await page.getByTestId("share-url").textContent())!.trim();
      expect(new URL(shareUrl).hostname).toBe("127.0.0.1");
      const notice = page.getByTestId("share-local-notice");
      await expect(notice).toContainText(
        `This link points at ${new URL(shareUrl).origin} and opens only on this computer`,
      );
      await expect(notice).toContainText("SCALEBOARD_PUBLIC_URL");
      await expect(notice).toContainText("SCALEBOARD_AUTH=on");
      expect((await sidewaysScroll(page)).scrollWidth).toBeLessThanOrEqual(390);
      await page.getByTestId("report-sharing").screenshot({ path: testInfo.outputPath("share-notice-390.png") });

      // The editor offers the runs' parameters to group by, the grouped panel's key chosen.
      await page.getByTestId("report-edit").click();
      const groupBy = page.getByTestId("panel-group-by");
      await expect(groupBy).toHaveValue("model.width");
      await expect(groupBy.locator("option")).toContainText(["one line per run", "by model.width", "by seed"]);
    });

    test("the shared page at 390 px: the report alone, no navigation or banner, no sideways scroll", async ({
      browser,
    }, testInfo) => {
      expect(shareUrl).not.toBe("");
      const reader = await browser.newContext({ viewport: PHONE });
      const page = await reader.newPage();
      const opened = await page.goto(shareUrl);
      expect(opened?.status()).toBe(200);
      await expect(page.getByTestId("report-title")).toHaveText("Which width wins, on a phone?");
      await expect(page.getByTestId("report-curves").locator("canvas")).toHaveAttribute("data-series", "3");
      await expect(page.getByRole("navigation")).toHaveCount(0);
      await expect(page.getByTestId("local-mode-banner")).toHaveCount(0);
      await expect(page.locator("body > div > header")).toHaveCount(0);
      await expect(page.getByTestId("report-sharing")).toHaveCount(0);
      const scroll = await sidewaysScroll(page);
      expect(scroll.scrollWidth).toBeLessThanOrEqual(scroll.viewport);
      await page.screenshot({ path: testInfo.outputPath("shared-report-390.png"), fullPage: true });
      await reader.close();
    });

    test("Reports in the top navigation lists the team's reports", async ({ page, baseURL }, testInfo) => {
      await showTeam(page, baseURL!);
      await page.goto("/");
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Reports" }).click();
      await expect(page).toHaveURL(`${baseURL}/reports`);
      await expect(
        page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Reports" }),
      ).toHaveAttribute("aria-current", "page");
      await page.getByTestId("all-reports-link").filter({ hasText: "Which width wins, on a phone?" }).click();
      await expect(page).toHaveURL(new RegExp(`/projects/${projectId}/reports/${reportId}$`));
      await expect(page.getByTestId("report-curves").locator("canvas")).toHaveAttribute("data-series", "3");
      await page.screenshot({ path: testInfo.outputPath("report-1280.png"), fullPage: true });
    });

    test("Add to report on the compare page makes the runs and the chart as drawn a report's panel", async ({
      page,
      baseURL,
    }, testInfo) => {
      await showTeam(page, baseURL!);
      await page.goto(`/compare?runs=${runIds.join(",")}&group=model.width&logy=1`);
      await expect(page.getByTestId("curves-panel").locator("canvas")).toHaveAttribute("data-series", "3");
      await page.getByTestId("add-to-report").click();
      await expect(page.getByTestId("add-to-report-submit")).toBeEnabled();
      await page.getByTestId("add-to-report-title").fill("From compare");
      await page.screenshot({ path: testInfo.outputPath("add-to-report.png") });
      await page.getByTestId("add-to-report-submit").click();
      await expect(page).toHaveURL(new RegExp(`/projects/${projectId}/reports/[^/?]+$`));
      await expect(page.getByTestId("report-title")).toHaveText("From compare");
      await expect(page.getByTestId("report-meta")).toContainText("9 runs");
      const curves = page.getByTestId("report-curves");
      await expect(curves).toHaveAttribute("data-group-by", "model.width");
      await expect(curves).toHaveAttribute("data-bands", "3");
      await expect(curves.locator("h2")).toHaveText("val/loss vs step, by model.width");

      // The same chart into the existing report: its panels grow by one.
      await page.goto(`/compare?runs=${runIds.join(",")}`);
      await expect(page.getByTestId("curves-panel").locator("canvas")).toHaveAttribute("data-series", "9");
      await page.getByTestId("add-to-report").click();
      await page.getByTestId("add-to-report-target").selectOption({ label: "Which width wins, on a phone?" });
      await page.getByTestId("add-to-report-submit").click();
      await expect(page).toHaveURL(new RegExp(`/projects/${projectId}/reports/${reportId}$`));
      await expect(page.getByTestId("report-curves")).toHaveCount(2);
    });
  });
