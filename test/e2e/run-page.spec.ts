import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import YAML from "yaml";
import { applyOnE2eServer, failOnBrowserErrors, trpc } from "./support.ts";

/**
 * The run page and charts as a newcomer reads them: a built-in run's page leads with its losses
 * (train/loss, val/loss, then the rest; lr, grad_norm, flops and samples last), prints its summary
 * without a raw null and with rounded, unit-bearing numbers, and names its environment in words;
 * eighteen runs logged over /api/v1 get eighteen different line colours, with a legend whose every
 * entry can be seen. Each scenario lives in its own team.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");

failOnBrowserErrors();

async function newTeam(page: Page, request: APIRequestContext, baseURL: string, name: string): Promise<string> {
  const teamId = (await trpc<{ id: string }>(request, baseURL, "team.create", { name })).id;
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL }]);
  return teamId;
}

/** The chart titles of the run page, top to bottom, as metric keys. */
async function chartKeys(page: Page): Promise<string[]> {
  const titles = await page.getByTestId("run-curves").locator("h2").allTextContents();
  return titles.map((title) => title.replace(/ \(.*\)$/, ""));
}

test("a built-in run's page leads with its losses, formats its summary and names its environment", async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  test.setTimeout(240_000);
  const teamId = await newTeam(page, request, baseURL!, "Run page e2e");
  const example = YAML.parse(readFileSync(path.join(ROOT, "examples/mlp-width-scaling.yaml"), "utf8")) as Record<
    string,
    Record<string, unknown>
  >;
  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-run-page-"));
  try {
    const spec = path.join(dir, "one-run.yaml");
    writeFileSync(
      spec,
      YAML.stringify({
        ...example,
        project: "Run page e2e",
        experiment: "one-run",
        dataset: { ...example.dataset, hidden: 16, samples: 1024 },
        model: { ...example.model, depth: 1, width: 8 },
        training: { ...example.training, schedule: undefined, batchSize: 256, budget: { steps: 60 }, evalEvery: 20 },
        sweep: undefined,
      }),
    );
    const applied = await applyOnE2eServer(spec, teamId);
    expect(applied.stdout).toContain("Applied: 1 new run(s) queued");

    await page.goto("/");
    await page.getByTestId("project-list").getByRole("link", { name: "Run page e2e" }).click();
    await page.getByTestId("experiment-link").filter({ hasText: "one-run" }).click();
    await expect(page.locator('[data-testid="run-row"][data-status="succeeded"]')).toHaveCount(1, { timeout: 120_000 });
    await page.getByTestId("run-row").getByRole("link").first().click();
    await expect(page).toHaveURL(/\/runs\/[^/?]+/);
    await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded");

    // Losses first, in the order a reader looks for them; counters and optimizer series after the rest.
    await expect(page.getByTestId("run-curves").first()).toBeVisible();
    const keys = await chartKeys(page);
    expect(keys.slice(0, 2), keys.join(", ")).toEqual(["train/loss", "val/loss"]);
    const position = (key: string) => keys.indexOf(key);
    for (const late of ["lr", "flops", "samples"].filter((key) => keys.includes(key)))
      for (const loss of ["train/loss", "val/loss"])
        expect(position(late), keys.join(", ")).toBeGreaterThan(position(loss));
    expect(keys.filter((key) => ["flops", "samples", "lr", "grad_norm"].includes(key)).length).toBeGreaterThan(0);
    await expect(page.getByTestId("run-metric-group").first()).toHaveText("Losses");

    // The summaries: no raw null, numbers rounded (at most four significant digits in any value).
    for (const testId of ["run-summary", "run-trainer-summary", "run-full-config", "run-environment"]) {
      await expect(page.getByTestId(testId)).not.toContainText(/\bnull\b/);
    }
    const summaryValues = await page.getByTestId("run-summary-entries").locator("dd").allTextContents();
    expect(summaryValues.length).toBeGreaterThan(3);
    // At most 3 significant digits: "0.00057 s" is rounded, "0.0324680" is not.
    for (const value of summaryValues) expect(value, "an unrounded number").not.toMatch(/\d\.0*[1-9]\d{3,}/);
    await expect(page.getByTestId("run-summary")).toContainText(/Throughput[\d.,]+\s?k? samples\/s/);

    // The environment in words: the backend with its tfjs version, and the GPU as "none" on a CPU worker.
    const environment = page.getByTestId("run-environment-entries");
    await expect(environment).toContainText(/backend\s*\S+ \(tfjs \d/);
    await expect(environment).toContainText(/GPU\s*none/);
    await expect(page.getByTestId("run-artifacts")).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath("run-page.png"), fullPage: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Eighteen runs logged over /api/v1 into a fresh team's experiment, each with ten val/loss points; its id. */
async function eighteenRuns(page: Page, request: APIRequestContext, baseURL: string, name: string): Promise<string> {
  const teamId = await newTeam(page, request, baseURL, name);
  const { key } = await trpc<{ key: string }>(request, baseURL, "apiKey.create", {
    teamId,
    name: "colours",
    scope: "ingest",
  });
  const headers = { authorization: `Bearer ${key}` };
  let experimentId = "";
  // Nine widths, two seeds: in the issue, width=16 seed 0 and seed 2 were both dark blue.
  for (const width of [4, 8, 16, 32, 64, 128, 256, 512, 1024]) {
    for (const seed of [0, 2]) {
      const created = await request.post("/api/v1/runs", {
        headers,
        data: {
          project: name,
          experiment: "eighteen",
          name: `width=${width} seed=${seed}`,
          config: { width, seed },
        },
      });
      expect(created.status()).toBe(201);
      const run = (await created.json()) as { runId: string; experimentId: string };
      experimentId = run.experimentId;
      const points = Array.from({ length: 10 }, (_, index) => ({
        key: "val/loss",
        step: index * 10,
        value: (1 + seed / 10) / Math.log2(width + 1) + 1 / (index + 1),
      }));
      expect((await request.post(`/api/v1/runs/${run.runId}/points`, { headers, data: { points } })).status()).toBe(
        200,
      );
      expect(
        (await request.post(`/api/v1/runs/${run.runId}/finish`, { headers, data: { status: "succeeded" } })).status(),
      ).toBe(200);
    }
  }
  return experimentId;
}

test("eighteen runs get eighteen distinct line colours", async ({ page, request, baseURL }, testInfo) => {
  test.setTimeout(120_000);
  const experimentId = await eighteenRuns(page, request, baseURL!, "Colours e2e");
  await page.goto(`/experiments/${experimentId}`);
  const curves = page.getByTestId("curves-panel").first();
  const canvas = curves.locator("canvas");
  await expect(canvas).toHaveAttribute("data-series", "18", { timeout: 30_000 });
  const colors = ((await canvas.getAttribute("data-series-colors")) ?? "").split(" ").filter(Boolean);
  expect(colors).toHaveLength(18);
  expect(new Set(colors).size, colors.join(" ")).toBe(18);
  await curves.screenshot({ path: testInfo.outputPath("eighteen-colours.png") });
});

test("the legend of eighteen runs shows every entry", async ({ page, request, baseURL }, testInfo) => {
  // curves-panel.tsx's legend is ChartLegend (app/_features/charts/chart-legend.tsx), which wraps
  // onto as many rows as it needs instead of a 7rem scroll box.
  test.setTimeout(120_000);
  const experimentId = await eighteenRuns(page, request, baseURL!, "Legend e2e");
  await page.goto(`/experiments/${experimentId}`);
  const curves = page.getByTestId("curves-panel").first();
  await expect(curves.locator("canvas")).toHaveAttribute("data-series", "18", { timeout: 30_000 });

  // Every legend entry lies inside the legend's visible box: none is cut off or scrolled away.
  const legend = curves.getByTestId("curves-legend");
  await expect(legend.locator("li")).toHaveCount(18);
  const clipped = await legend.evaluate((element) => {
    const box = element.getBoundingClientRect();
    return [...element.querySelectorAll("li")]
      .filter((item) => {
        const rect = item.getBoundingClientRect();
        return rect.top < box.top - 0.5 || rect.bottom > box.bottom + 0.5;
      })
      .map((item) => item.textContent);
  });
  await curves.screenshot({ path: testInfo.outputPath("eighteen-legend.png") });
  expect(clipped, "legend entries cut off").toEqual([]);
});

test("the experiment header follows a spec version applied from the CLI without a reload", async ({
  page,
  request,
  baseURL,
}) => {
  test.setTimeout(180_000);
  const teamId = await newTeam(page, request, baseURL!, "Spec header e2e");
  const example = YAML.parse(readFileSync(path.join(ROOT, "examples/mlp-width-scaling.yaml"), "utf8")) as Record<
    string,
    Record<string, unknown>
  >;
  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-spec-header-"));
  const writeSpec = (width: number) => {
    const file = path.join(dir, `width-${width}.yaml`);
    writeFileSync(
      file,
      YAML.stringify({
        ...example,
        project: "Spec header e2e",
        experiment: "header",
        dataset: { ...example.dataset, hidden: 16, samples: 1024 },
        model: { ...example.model, depth: 1, width },
        training: { ...example.training, schedule: undefined, batchSize: 256, budget: { steps: 20 }, evalEvery: 10 },
        sweep: undefined,
      }),
    );
    return file;
  };
  try {
    expect((await applyOnE2eServer(writeSpec(8), teamId)).stdout).toContain("Applied: 1 new run(s) queued");
    await page.goto("/");
    await page.getByTestId("project-list").getByRole("link", { name: "Spec header e2e" }).click();
    await page.getByTestId("experiment-link").filter({ hasText: "header" }).click();
    await expect(page.getByRole("link", { name: "Edit spec (v1)" })).toBeVisible();

    // The CLI applies v2 (a new width, so a new run): the open page's header says v2 on its own.
    expect((await applyOnE2eServer(writeSpec(12), teamId)).stdout).toContain("Applied: 1 new run(s) queued");
    await expect(page.getByRole("link", { name: "Edit spec (v2)" })).toBeVisible({ timeout: 30_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
