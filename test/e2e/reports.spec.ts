import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import superjson from "superjson";
import YAML from "yaml";
import { applyOnE2eServer, browserErrorLog, trpc } from "./support.ts";

/**
 * Reports in a real browser against the local single-user server and its worker: a width sweep
 * trains, an editor writes a report with two panels over it, publishes it frozen and shares it;
 * a fresh browser context with no cookies opens the link, sees the charts and the fitted exponent,
 * downloads the CSV and JSON; after the link is revoked it answers 404. Then the XSS corpus
 * (test/fixtures/xss) goes through the same pages and nothing in it runs. The local server has no
 * sign-in at all, so the last test reads a shared report signed out on the sign-in-on server.
 * Everything lives in its own team, so the Local team stays empty for the shell tests.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const XSS_DIR = path.join(ROOT, "test/fixtures/xss");

/** The shipped width example shrunk to three widths, one seed, a few hundred steps. */
function sweep(): string {
  const example = YAML.parse(readFileSync(path.join(ROOT, "examples/mlp-width-scaling.yaml"), "utf8")) as Record<
    string,
    Record<string, unknown>
  >;
  return YAML.stringify({
    ...example,
    project: "Reports e2e",
    experiment: "width-sweep",
    dataset: { ...example.dataset, hidden: 128, samples: 2048, noise: 0.01 },
    model: { ...example.model, depth: 1, width: 16 },
    training: {
      ...example.training,
      schedule: undefined,
      batchSize: 64,
      budget: { steps: 200 },
      evalEvery: 20,
      logEvery: 10,
    },
    sweep: { parameters: { "model.width": [4, 16, 64] } },
  });
}

const apply = applyOnE2eServer;

/**
 * Resolves once every handler a payload could hook has had its turn: the load event (images'
 * onload and onerror fire before it), images added since (complete once loaded or failed), then one
 * rendering update (autofocus, animation frames) and the task after it.
 */
async function afterLateHandlers(page: Page): Promise<void> {
  await page.waitForLoadState("load");
  await page.waitForFunction(() => Array.from(document.images).every((image) => image.complete), undefined, {
    timeout: 15_000,
  });
  await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
}

const browser = browserErrorLog();
const browserErrors = browser.errors;
const watchErrors = (page: Page) => browser.watch(page);

test.beforeEach(({ page }) => {
  browser.clear();
  watchErrors(page);
});

let teamId = "";
let projectId = "";

test.describe
  .serial("reports", () => {
    test("write a report with two panels, publish it, read it signed out, download the CSV, revoke the link", async ({
      page,
      request,
      baseURL,
      browser,
    }, testInfo) => {
      test.setTimeout(300_000);
      const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-reports-"));
      try {
        teamId = (await trpc<{ id: string }>(request, baseURL!, "team.create", { name: "Reports e2e" })).id;
        await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL! }]);
        const spec = path.join(dir, "width-sweep.yaml");
        writeFileSync(spec, sweep());
        const applied = await apply(spec, teamId);
        expect(applied.stderr).toBe("");
        expect(applied.stdout).toContain("Applied: 3 new run(s) queued");

        await page.goto("/");
        await page.getByTestId("project-list").getByRole("link", { name: "Reports e2e" }).click();
        await expect(page).toHaveURL(/\/projects\/[^/?]+$/);
        projectId = new URL(page.url()).pathname.split("/")[2]!;
        await page.getByTestId("experiment-link").filter({ hasText: "width-sweep" }).click();
        await expect(page.locator('[data-testid="run-row"][data-status="succeeded"]')).toHaveCount(3, {
          timeout: 180_000,
        });

        // Write: a new report starts with two panels (curves and the scaling fit); pick the runs, add notes.
        await page.goto(`/projects/${projectId}`);
        await page.getByTestId("project-reports-link").click();
        await page.getByTestId("new-report-title").fill("Which width wins?");
        await page.getByTestId("new-report-create").click();
        await expect(page.getByTestId("report-editor")).toBeVisible();
        await expect(page.getByTestId("report-panel-row")).toHaveCount(2);
        await page
          .getByTestId("report-body-input")
          .fill("## Result\n\nWider **wins**: see the fitted exponent below.\n\n- widths 4, 16, 64\n- one seed each");
        // Live preview of the notes while typing.
        await expect(page.getByTestId("report-preview").getByRole("heading", { name: "Result" })).toBeVisible();
        await page.getByTestId("runs-add-shown").click();
        await expect(page.getByTestId("report-runs")).toContainText("3 chosen");
        await expect(page.getByTestId("report-preview").getByTestId("report-fit")).toContainText("α =");
        await page.getByTestId("report-save").click();
        await expect(page.getByTestId("report-title")).toHaveText("Which width wins?");

        // Publish frozen and share.
        await page.getByTestId("report-publish-frozen").click();
        await expect(page.getByTestId("report-publish-state")).toContainText("Published, frozen");
        await page.getByTestId("share-create").click();
        const shareUrl = (await page.getByTestId("share-url").textContent())!.trim();
        expect(shareUrl).toMatch(/\/r\/[A-Za-z0-9_-]{43}$/);

        // A fresh context: no cookies, no team, nothing but the link.
        const reader: BrowserContext = await browser.newContext({ acceptDownloads: true });
        const readerPage = await reader.newPage();
        watchErrors(readerPage);
        const opened = await readerPage.goto(shareUrl);
        expect(opened?.status()).toBe(200);
        await expect(readerPage.getByTestId("report-title")).toHaveText("Which width wins?");
        await expect(readerPage.getByTestId("report-body").getByRole("strong")).toHaveText("wins");
        await expect(readerPage.getByTestId("report-curves").locator("canvas")).toBeVisible();
        await expect(readerPage.getByTestId("report-scaling").locator("canvas")).toBeVisible();
        await expect(readerPage.getByTestId("report-fit")).toContainText(/α = \d/);
        await expect(readerPage.getByTestId("report-best-size")).toContainText("Lowest mean val/loss");
        // Nothing on the page leads into the project.
        const hrefs = await readerPage
          .locator("a[href]")
          .evaluateAll((links) => links.map((link) => link.getAttribute("href") ?? ""));
        expect(hrefs.filter((href) => /\/(projects|experiments|runs|compare)\b/.test(href))).toEqual([]);
        await readerPage.screenshot({ path: testInfo.outputPath("shared-report.png"), fullPage: true });

        const [download] = await Promise.all([
          readerPage.waitForEvent("download"),
          readerPage.getByRole("button", { name: "Download CSV" }).click(),
        ]);
        expect(download.suggestedFilename()).toBe("Which-width-wins.csv");
        const csv = readFileSync((await download.path())!, "utf8");
        const lines = csv.trim().split("\n");
        expect(lines[0]).toBe("panel,kind,series,x,y,column,value");
        expect(lines.filter((line) => line.startsWith("1,curves val/loss vs step,")).length).toBeGreaterThan(10);
        expect(lines.some((line) => line.startsWith("2,scaling val/loss vs params,fit,,,alpha,"))).toBe(true);

        const [jsonDownload] = await Promise.all([
          readerPage.waitForEvent("download"),
          readerPage.getByRole("button", { name: "Download JSON" }).click(),
        ]);
        const exported = JSON.parse(readFileSync((await jsonDownload.path())!, "utf8")) as {
          runs: { name: string; config: { model?: { width?: number } } }[];
          panels: { kind: string; scaling?: { fit: { ok: boolean; alpha?: number } } }[];
        };
        expect(exported.runs.map((run) => run.config.model?.width).sort((a, b) => a! - b!)).toEqual([4, 16, 64]);
        expect(exported.panels.find((panel) => panel.kind === "scaling")?.scaling?.fit).toMatchObject({
          ok: true,
          alpha: expect.any(Number),
        });

        // Save as PDF: the print stylesheet leaves the report alone, without the app's header or the buttons.
        await readerPage.emulateMedia({ media: "print" });
        await expect(readerPage.getByTestId("report-exports")).toBeHidden();
        await expect(readerPage.getByRole("banner").first()).toBeHidden();
        await expect(readerPage.getByTestId("report-scaling").locator("canvas")).toBeVisible();
        await readerPage.emulateMedia({ media: "screen" });

        // Revoke: the same link is now a 404.
        await page.getByTestId("share-revoke").click();
        await expect(page.getByTestId("share-link")).toContainText("revoked");
        const afterRevoke = await readerPage.goto(shareUrl);
        expect(afterRevoke?.status()).toBe(404);
        await reader.close();
        expect(browserErrors.filter((error) => !error.includes("404"))).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("no payload of the XSS corpus runs, in the body or the title, on the shared page or the app's", async ({
      page,
      request,
      baseURL,
    }) => {
      test.setTimeout(240_000);
      expect(projectId, "the first test made the project").not.toBe("");
      const bodies = readdirSync(XSS_DIR)
        .filter((name) => name.endsWith(".md") && name !== "README.md")
        .sort();
      const titles = readFileSync(path.join(XSS_DIR, "titles.txt"), "utf8").split("\n").filter(Boolean);
      expect(bodies.length + titles.length).toBeGreaterThanOrEqual(20);

      const fired: string[] = [];
      const hook = (target: Page) => {
        target.on("dialog", (dialog) => {
          fired.push(`dialog: ${dialog.message()}`);
          void dialog.dismiss();
        });
        target.on("console", (message) => {
          if (/xss-/i.test(message.text())) fired.push(`console: ${message.text()}`);
        });
      };
      hook(page);
      page.context().on("page", hook);

      // The net catches a handler that runs after the page is up: an image that fails to load.
      await page.setContent(`<img src="${baseURL}/does-not-exist.png" onerror="console.log('xss-control')">`, {
        waitUntil: "commit",
      });
      await afterLateHandlers(page);
      expect(fired).toEqual(["console: xss-control"]);
      fired.length = 0;

      const cases = bodies.map((file, index) => ({
        file,
        body: readFileSync(path.join(XSS_DIR, file), "utf8"),
        title: titles[index % titles.length]!,
      }));
      for (const { file, body, title } of cases) {
        const report = await trpc<{ id: string }>(request, baseURL!, "report.create", {
          projectId,
          title,
          body,
          panels: [],
        });
        await trpc(request, baseURL!, "report.publish", { reportId: report.id, mode: "live" });
        const { path: sharePath } = await trpc<{ path: string }>(request, baseURL!, "report.createLink", {
          reportId: report.id,
        });

        for (const url of [sharePath, `/projects/${projectId}/reports/${report.id}`]) {
          await page.goto(url);
          await expect(page.getByTestId("report-title"), file).toHaveText(title);
          const bodyLinks = page.getByTestId("report-body").locator("a");
          for (let index = 0; index < (await bodyLinks.count()); index++) {
            const href = (await bodyLinks.nth(index).getAttribute("href")) ?? "";
            expect(href, `${file}: link ${index}`).not.toMatch(/^\s*(javascript|vbscript|data):/i);
            await bodyLinks
              .nth(index)
              .click({ modifiers: [] })
              .catch(() => undefined);
          }
          for (const popup of page.context().pages()) if (popup !== page) await popup.close();
          await afterLateHandlers(page);
          expect(fired, `${file} on ${url.startsWith("/r/") ? "the shared page" : "the app's page"}`).toEqual([]);
        }
      }
      expect(browserErrors.filter((error) => /xss-/i.test(error))).toEqual([]);
    });
  });

/**
 * Runs TypeScript against the sign-in-on server's database through the domain functions, as a
 * script would (tsx): that server has no accounts yet, and test/e2e/teams.spec.ts signs up its
 * first one, so the report is seeded without creating any user.
 */
function onAuthDatabase(source: string): Promise<string> {
  const { url } = JSON.parse(readFileSync(path.join(process.env.E2E_AUTH_DATA_DIR!, "postgres.json"), "utf8")) as {
    url: string;
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-reports-seed-"));
  const file = path.join(dir, "seed.mts");
  const server = (module: string) => JSON.stringify(path.join(ROOT, "server", module));
  writeFileSync(
    file,
    `import { createDb } from ${server("db.ts")};
import { ingestPoints } from ${server("domain/metrics/ingest-points.ts")};
import { createReport, publishReport } from ${server("domain/report/manage-reports.ts")};
import { createShareLink, revokeShareLink } from ${server("domain/report/share-links.ts")};
const db = createDb(process.env.SEED_DATABASE_URL!);
const result = await (async () => { ${source} })();
process.stdout.write(JSON.stringify(result ?? null));
await db.$disconnect();
void [ingestPoints, createReport, publishReport, createShareLink, revokeShareLink];
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: ROOT,
      env: { ...process.env, SEED_DATABASE_URL: url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => {
      rmSync(dir, { recursive: true, force: true });
      if (code === 0) resolve(stdout);
      else reject(new Error(`seed script failed (${code}): ${stderr}`));
    });
  });
}

test("with sign-in on, a signed-out reader opens the link, reads the charts and the fit, reaches nothing else, and a revoked link is a 404", async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const authPort = process.env.E2E_AUTH_PORT;
  if (!authPort) throw new Error("E2E_AUTH_PORT is not set: run these tests through playwright.config.ts");
  const authBase = `http://localhost:${authPort}`;
  const seeded = JSON.parse(
    await onAuthDatabase(`
      const suffix = Math.random().toString(36).slice(2, 8);
      const team = await db.team.create({ data: { name: "Shared reports", slug: "shared-reports-" + suffix }, select: { id: true } });
      const project = await db.project.create({ data: { teamId: team.id, name: "Widths", slug: "widths-" + suffix }, select: { id: true } });
      const experiment = await db.experiment.create({ data: { projectId: project.id, name: "width-sweep" }, select: { id: true } });
      const runIds = [];
      for (const width of [8, 16, 32, 64]) {
        const params = 4 * width * width;
        const run = await db.run.create({
          data: { experimentId: experiment.id, name: "width=" + width, cellHash: "w" + width, status: "succeeded", config: { params: { "model.width": width } }, paramCount: BigInt(params), totalFlops: 6 * params * 20, wallClockSeconds: 1 },
          select: { id: true },
        });
        const end = 0.5 + 30 / Math.sqrt(params);
        await ingestPoints(db, run.id, Array.from({ length: 21 }, (_, step) => ({ key: "val/loss", step, value: end + (20 - step) / 10 })));
        runIds.push(run.id);
      }
      const report = await createReport(db, project.id, null, {
        title: "Which width wins? (signed out)",
        body: "Wider wins.",
        panels: [{ kind: "curves", metric: "val/loss", x: "step", logX: false, logY: true }, { kind: "scaling", metric: "val/loss", x: "params", fit: true }],
        runIds,
      });
      await publishReport(db, project.id, report.id, "frozen");
      const shared = await createShareLink(db, report.id, null, {});
      return { token: shared.token, linkId: shared.link.id, reportId: report.id, projectId: project.id, runId: runIds[0] };
    `),
  ) as { token: string; linkId: string; reportId: string; projectId: string; runId: string };

  const context = await browser.newContext();
  const page = await context.newPage();
  watchErrors(page);
  const opened = await page.goto(`${authBase}/r/${seeded.token}`);
  expect(opened?.status()).toBe(200);
  expect(new URL(page.url()).pathname).toBe(`/r/${seeded.token}`);
  await expect(page.getByTestId("report-title")).toHaveText("Which width wins? (signed out)");
  await expect(page.getByTestId("report-curves").locator("canvas")).toBeVisible();
  await expect(page.getByTestId("report-scaling").locator("canvas")).toBeVisible();
  await expect(page.getByTestId("report-fit")).toContainText(/α = 0\.5\d*/);
  await expect(page.getByTestId("report-best-size")).toContainText("width=64");
  // Signed out: no app navigation, and the token opens nothing but this report.
  await expect(page.getByRole("navigation", { name: "Main" })).toHaveCount(0);
  for (const [procedure, input] of [
    ["report.get", { reportId: seeded.reportId }],
    ["report.list", { projectId: seeded.projectId }],
    ["run.logs", { runId: seeded.runId }],
  ] as const) {
    const refused = await page.request.get(
      `${authBase}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`,
      {
        headers: { authorization: `Bearer ${seeded.token}` },
      },
    );
    expect(refused.status(), procedure).toBe(401);
  }
  const project = await page.goto(`${authBase}/projects/${seeded.projectId}`);
  expect(new URL(page.url()).pathname, `project page answered ${project?.status()}`).toMatch(/^\/sign-(in|up)$/);

  await onAuthDatabase(
    `return revokeShareLink(db, ${JSON.stringify(seeded.reportId)}, ${JSON.stringify(seeded.linkId)});`,
  );
  const revoked = await page.goto(`${authBase}/r/${seeded.token}`);
  expect(revoked?.status()).toBe(404);
  await context.close();
  expect(browserErrors.filter((error) => !error.includes("404"))).toEqual([]);
});
