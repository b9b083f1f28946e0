import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, type Locator, type Page, test } from "@playwright/test";
import YAML from "yaml";
import { applyOnE2eServer, failOnBrowserErrors, trpc } from "./support.ts";

/**
 * The hyperparameter view of a finished sweep (3 widths x 3 seeds of the shipped MLP example, shrunk
 * to train in seconds): parallel coordinates with an axis per swept parameter and one for the metric
 * (width on a log axis: 4..128 spans 32x), brushing the width axis narrows the runs table to exactly
 * the runs in range and clearing restores it, the brush is kept in the URL (a reload filters the same
 * runs and draws the same brush; clearing takes it out), and the importance table lists each parameter.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const WIDTHS = [4, 16, 128];

failOnBrowserErrors();

function sweepSpec(): string {
  const example = YAML.parse(readFileSync(path.join(ROOT, "examples/mlp-width-scaling.yaml"), "utf8")) as Record<
    string,
    Record<string, unknown>
  >;
  return YAML.stringify({
    ...example,
    project: "Hyperparameters e2e",
    experiment: "hp-sweep",
    description: "The width example, shrunk for the hyperparameter view's browser test.",
    dataset: { ...example.dataset, hidden: 32, samples: 1024, noise: 0.01 },
    model: { ...example.model, depth: 1, width: 16 },
    training: {
      ...example.training,
      schedule: undefined,
      batchSize: 256,
      budget: { steps: 100 },
      evalEvery: 25,
      logEvery: 10,
    },
    sweep: { parameters: { "model.width": WIDTHS }, seeds: 3 },
  });
}

/** Drags along an axis's brush area between two positions (0 bottom .. 1 top of the axis). */
async function brush(page: Page, area: Locator, from: number, to: number) {
  await area.scrollIntoViewIfNeeded();
  const box = (await area.boundingBox())!;
  // The area reaches 6 px past each end of the axis.
  const yAt = (position: number) => box.y + 6 + (1 - position) * (box.height - 12);
  const x = box.x + box.width / 2;
  await page.mouse.move(x, yAt(from));
  await page.mouse.down();
  await page.mouse.move(x, (yAt(from) + yAt(to)) / 2, { steps: 4 });
  await page.mouse.move(x, yAt(to), { steps: 4 });
  await page.mouse.up();
}

async function tableRunIds(page: Page): Promise<string[]> {
  const ids = await page
    .getByTestId("run-row")
    .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-run-id")));
  return ids.filter((id): id is string => id !== null).sort();
}

test("parallel coordinates brush the runs table; importance lists each swept parameter", async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-hyperparameters-"));
  try {
    const teamId = (await trpc<{ id: string }>(request, baseURL!, "team.create", { name: "Hyperparameters e2e" })).id;
    await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL! }]);
    const spec = path.join(dir, "hp-sweep.yaml");
    writeFileSync(spec, sweepSpec());
    const applied = await applyOnE2eServer(spec, teamId);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toContain("Applied: 9 new run(s) queued");

    await page.goto("/");
    await page.getByTestId("project-list").getByRole("link", { name: "Hyperparameters e2e" }).click();
    await page.getByTestId("experiment-link").filter({ hasText: "hp-sweep" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "hp-sweep" })).toBeVisible();
    const rows = page.getByTestId("run-row");
    await expect(page.locator('[data-testid="run-row"][data-status="succeeded"]')).toHaveCount(9, { timeout: 180_000 });

    const view = page.getByTestId("hyperparameters");
    const axes = view.getByTestId("pc-axis");
    // An axis per swept parameter plus the metric's; width spans 32x (log), seeds 0..2 (linear).
    await expect(axes).toHaveCount(3);
    await expect(view.locator('[data-testid="pc-axis"][data-axis="model.width"]')).toHaveAttribute("data-scale", "log");
    await expect(view.locator('[data-testid="pc-axis"][data-axis="training.seed"]')).toHaveAttribute(
      "data-scale",
      "linear",
    );
    await expect(view.locator('[data-testid="pc-axis"][data-axis="metric"]')).toContainText("final val/loss");
    // One line per run, each with its metric value once all have finished.
    await expect(view.getByTestId("pc-line")).toHaveCount(9);
    await expect(view.getByTestId("pc-legend")).not.toContainText("without a value");
    const allIds = await tableRunIds(page);
    expect(allIds).toHaveLength(9);

    // Importance: every swept parameter listed, with a number (9 succeeded runs, above the 8 it needs).
    const importance = view.getByTestId("importance");
    await expect(importance).toContainText("across 9 succeeded runs");
    await expect(importance.getByTestId("importance-row")).toHaveCount(2);
    for (const name of ["model.width", "training.seed"])
      await expect(importance.locator(`[data-testid="importance-row"][data-parameter="${name}"]`)).toBeVisible();
    await expect(importance.getByTestId("importance-value").first()).toHaveText(/^\d{1,3}%$/);

    // Brush the bottom of the width axis (width 4 sits at 0, 16 at 0.4 on the log axis).
    const widthArea = view.locator('[data-testid="pc-axis"][data-axis="model.width"]').getByTestId("pc-brush-area");
    await brush(page, widthArea, 0, 0.2);
    await expect(view.getByTestId("pc-brush-status")).toContainText("3 of 9 runs inside the brushed range");
    await expect(rows).toHaveCount(3);
    const brushedLines = await view
      .locator('[data-testid="pc-line"][data-in-brush="true"]')
      .evaluateAll((lines) => lines.map((line) => line.getAttribute("data-run-id")!).sort());
    expect(await tableRunIds(page)).toEqual(brushedLines);
    for (const name of await rows.getByRole("link").allTextContents()) expect(name).toMatch(/^width=4 seed=\d$/);
    await page.screenshot({ path: testInfo.outputPath("hyperparameters-brushed.png"), fullPage: true });

    // The brush is in the URL as a range of widths: a reload filters the same rows and draws the same brush.
    const brushParam = () => new URL(page.url()).searchParams.get("brush");
    expect(brushParam()).toMatch(/^model\.width:4\.\.[\d.]+$/);
    const widthBrush = view.locator('[data-testid="pc-axis"][data-axis="model.width"]').getByTestId("pc-brush");
    // Where the brush lies on its axis (relative to the axis, as a reload may scroll the page elsewhere).
    const brushOnAxis = async () => {
      const [drawn, axis] = [(await widthBrush.boundingBox())!, (await widthArea.boundingBox())!];
      return { top: drawn.y - axis.y, height: drawn.height };
    };
    const drawnBefore = await brushOnAxis();
    await page.reload();
    await expect(view.getByTestId("pc-brush-status")).toContainText("3 of 9 runs inside the brushed range");
    await expect(rows).toHaveCount(3);
    expect(await tableRunIds(page)).toEqual(brushedLines);
    await expect(widthBrush).toBeVisible();
    const drawnAfter = await brushOnAxis();
    expect(Math.abs(drawnAfter.top - drawnBefore.top)).toBeLessThan(2);
    expect(Math.abs(drawnAfter.height - drawnBefore.height)).toBeLessThan(2);
    await page.screenshot({ path: testInfo.outputPath("hyperparameters-brushed-reloaded.png"), fullPage: true });

    // A click on the axis (no drag) clears its brush: all nine rows again.
    await widthArea.scrollIntoViewIfNeeded();
    const widthBox = (await widthArea.boundingBox())!;
    await page.mouse.click(widthBox.x + widthBox.width / 2, widthBox.y + widthBox.height / 2);
    await expect(view.getByTestId("pc-brush-status")).toHaveCount(0);
    await expect(rows).toHaveCount(9);
    expect(await tableRunIds(page)).toEqual(allIds);
    expect(brushParam()).toBeNull();

    // Brush the top of the width axis, then "Clear brushes".
    await brush(page, widthArea, 1, 0.8);
    await expect(rows).toHaveCount(3);
    for (const name of await rows.getByRole("link").allTextContents()) expect(name).toMatch(/^width=128 seed=\d$/);
    expect(brushParam()).toMatch(/^model\.width:[\d.]+\.\.128$/);
    await view.getByRole("button", { name: "Clear brushes" }).click();
    await expect(rows).toHaveCount(9);
    await expect(view.getByTestId("pc-brush")).toHaveCount(0);
    expect(brushParam()).toBeNull();

    // At 390 px in dark mode the chart scrolls inside its panel: the page itself does not scroll sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => document.documentElement.classList.add("dark"));
    await view.scrollIntoViewIfNeeded();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await view.screenshot({ path: testInfo.outputPath("hyperparameters-390-dark.png") });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
