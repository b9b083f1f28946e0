import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page, type Response } from "@playwright/test";
import YAML from "yaml";
import { applyOnE2eServer, browserErrorLog, trpc } from "./support.ts";

/**
 * The Content-Security-Policy in a real Chromium: every main page of the app and a published share
 * page load, hydrate and draw their charts with no `securitypolicyviolation` event and no CSP
 * console error, while the policy is really in force (the header is on each document, and a page
 * that frames the app gets nothing). Everything lives in its own team.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");

function tinySweep(): string {
  const example = YAML.parse(readFileSync(path.join(ROOT, "examples/mlp-width-scaling.yaml"), "utf8")) as Record<
    string,
    Record<string, unknown>
  >;
  return YAML.stringify({
    ...example,
    project: "Headers e2e",
    experiment: "csp-sweep",
    dataset: { ...example.dataset, hidden: 16, samples: 256, noise: 0.01 },
    model: { ...example.model, depth: 1, width: 8 },
    training: {
      ...example.training,
      schedule: undefined,
      batchSize: 32,
      budget: { steps: 40 },
      evalEvery: 10,
      logEvery: 5,
    },
    sweep: { parameters: { "model.width": [4, 8] } },
  });
}

declare global {
  interface Window {
    cspViolations?: string[];
  }
}

const browser = browserErrorLog();

/** Records violations from the first script on, before the app's own scripts run. */
async function watchPolicy(page: Page) {
  browser.watch(page);
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.cspViolations!.push(
        `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
}

async function expectPolicyKept(page: Page, response: Response | null, what: string) {
  expect(response?.status(), what).toBe(200);
  const policy = response!.headers()["content-security-policy"] ?? "";
  expect(policy, `${what}: the policy is sent`).toContain("frame-ancestors 'none'");
  expect(policy, what).toContain("object-src 'none'");
  await page.waitForLoadState("networkidle");
  expect(await page.evaluate(() => window.cspViolations ?? null), `${what}: securitypolicyviolation events`).toEqual(
    [],
  );
  expect(
    browser.errors.filter((line) => /Content Security Policy|Refused to/i.test(line)),
    `${what}: CSP console errors`,
  ).toEqual([]);
}

test.beforeEach(() => browser.clear());
test.afterEach(() => {
  expect(browser.errors, "the browser reported errors").toEqual([]);
});

test("the app's pages and a published share page run under the CSP with no violation", async ({
  page,
  request,
  baseURL,
  browser: chromium,
}) => {
  test.setTimeout(300_000);
  await watchPolicy(page);
  const teamId = (await trpc<{ id: string }>(request, baseURL!, "team.create", { name: "Headers e2e" })).id;
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL! }]);
  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-csp-"));
  try {
    const spec = path.join(dir, "csp-sweep.yaml");
    writeFileSync(spec, tinySweep());
    const applied = await applyOnE2eServer(spec, teamId);
    expect(applied.stdout).toContain("Applied: 2 new run(s) queued");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  await expectPolicyKept(page, await page.goto("/"), "home");
  await page.getByTestId("project-list").getByRole("link", { name: "Headers e2e" }).click();
  await expect(page).toHaveURL(/\/projects\/[^/?]+$/);
  const projectId = new URL(page.url()).pathname.split("/")[2]!;
  await expectPolicyKept(page, await page.goto(`/projects/${projectId}`), "project");
  await page.getByTestId("experiment-link").filter({ hasText: "csp-sweep" }).click();
  await expect(page.locator('[data-testid="run-row"][data-status="succeeded"]')).toHaveCount(2, { timeout: 240_000 });
  const experimentPath = new URL(page.url()).pathname;
  await expectPolicyKept(page, await page.goto(experimentPath), "experiment");
  const runLinks = await page
    .locator('[data-testid="run-row"] a[href^="/runs/"]')
    .evaluateAll((links) => links.map((link) => link.getAttribute("href")!));
  const runIds = [...new Set(runLinks.map((href) => href.split("?")[0]!.split("/")[2]!))];
  expect(runIds).toHaveLength(2);

  await expectPolicyKept(page, await page.goto(`/runs/${runIds[0]}`), "run");
  await expect(page.locator("canvas").first()).toBeVisible();
  await expectPolicyKept(page, await page.goto(`/compare?runs=${runIds.join(",")}`), "compare");
  await expect(page.locator("canvas").first()).toBeVisible();
  await expectPolicyKept(page, await page.goto("/editor"), "spec editor");
  await expect(page.locator(".cm-editor").first()).toBeVisible();
  await expectPolicyKept(page, await page.goto("/workers"), "workers");
  await expectPolicyKept(page, await page.goto("/settings"), "team settings");
  await expectPolicyKept(page, await page.goto(`/projects/${projectId}/reports`), "reports");

  const report = await trpc<{ id: string }>(request, baseURL!, "report.create", {
    projectId,
    title: "Under CSP",
    runIds,
    panels: [{ kind: "curves", metric: "val/loss" }],
  });
  await trpc(request, baseURL!, "report.update", { reportId: report.id, body: "## Notes\n\nWider is **better**." });
  await expectPolicyKept(page, await page.goto(`/projects/${projectId}/reports/${report.id}`), "report editor");
  await trpc(request, baseURL!, "report.publish", { reportId: report.id, mode: "frozen" });
  const { path: sharePath } = await trpc<{ path: string }>(request, baseURL!, "report.createLink", {
    reportId: report.id,
  });

  // The share page in a fresh context: no cookies, only the link.
  const reader = await chromium.newContext();
  try {
    const readerPage = await reader.newPage();
    await watchPolicy(readerPage);
    const shared = await readerPage.goto(sharePath);
    expect(shared?.headers()["referrer-policy"]).toBe("no-referrer");
    await expect(readerPage.getByTestId("report-title")).toHaveText("Under CSP");
    await expect(readerPage.locator("canvas").first()).toBeVisible();
    await expectPolicyKept(readerPage, shared, "share page");
  } finally {
    await reader.close();
  }
});

test("a page on another site cannot frame the app", async ({ browser: chromium, baseURL }) => {
  const context = await chromium.newContext();
  try {
    const page = await context.newPage();
    // Chromium reports the refusal itself on the console; that is the expected outcome here.
    const refusals: string[] = [];
    page.on("console", (message) => refusals.push(message.text()));
    await page.setContent(`<iframe id="app" src="${baseURL}/" width="800" height="600"></iframe>`);
    await expect
      .poll(() => refusals.some((line) => /frame-ancestors|X-Frame-Options/.test(line)), { timeout: 15_000 })
      .toBe(true);
    const framed = page.frames().find((frame) => frame !== page.mainFrame());
    // biome-ignore lint/performance/useDomNodeTextContent: the check is on the text a user would see, which innerText is
    expect(await framed?.evaluate(() => document.body?.innerText ?? "").catch(() => "")).not.toContain("Scaleboard");
  } finally {
    await context.close();
  }
});
