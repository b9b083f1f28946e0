import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import superjson from "superjson";
import YAML from "yaml";
import { applyOnE2eServer, failOnBrowserErrors } from "./support.ts";

/**
 * The dashboard against the local single-user server and its worker: a sweep applied with the
 * CLI shows up on the experiment page and runs queued -> running -> succeeded without a reload;
 * selected runs open in compare, whose curves switch x axis, go log, and re-query on zoom; the
 * scaling fit states its exponent. Everything lives in its own team, so the Local team stays
 * empty for the shell tests.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");

failOnBrowserErrors();

/**
 * The shipped example (examples/mlp-width-scaling.yaml), shrunk to fit two CI cores: its panels and
 * metric as they are; a wide teacher, little noise and 400 steps of 1,024 samples (a few seconds a run, long enough to be seen
 * running) so that wider students do reach a
 * lower loss and the fit is a real one; the given widths, two seeds each.
 */
function sweep(widths: number[]): string {
  const example = YAML.parse(readFileSync(path.join(ROOT, "examples/mlp-width-scaling.yaml"), "utf8")) as Record<
    string,
    Record<string, unknown>
  >;
  return YAML.stringify({
    ...example,
    project: "Dashboard e2e",
    experiment: "tiny-sweep",
    description: "The width example, shrunk for the dashboard browser test.",
    dataset: { ...example.dataset, hidden: 128, samples: 4096, noise: 0.01 },
    model: { ...example.model, depth: 1, width: 16 },
    training: {
      ...example.training,
      schedule: undefined,
      batchSize: 1024,
      budget: { steps: 400 },
      evalEvery: 20,
      logEvery: 5,
    },
    sweep: { parameters: { "model.width": widths }, seeds: 2 },
  });
}

const apply = applyOnE2eServer;

/** Records every status each run row shows, so a state held for less than a poll is still seen. */
async function recordRowStatuses(page: Page) {
  await page.evaluate(() => {
    const seen = new Set<string>();
    const record = () => {
      for (const row of document.querySelectorAll<HTMLElement>('[data-testid="run-row"]'))
        seen.add(`${row.dataset.runId}:${row.dataset.status}`);
    };
    record();
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["data-status"],
    });
    Object.assign(window, { statusesSeen: seen, loadedOnce: true });
  });
}

test("a sweep runs live on its experiment page; compare re-queries on zoom and fits the scaling law", async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-dashboard-"));
  try {
    const team = await request.post("/api/trpc/team.create", {
      headers: { origin: baseURL! },
      data: { json: { name: "Dashboard e2e" } },
    });
    expect(team.status()).toBe(200);
    const teamId = superjson.deserialize<{ id: string }>((await team.json()).result.data).id;
    await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL! }]);

    // Version 1: one width (two seeds) creates the experiment.
    const spec = path.join(dir, "tiny-sweep.yaml");
    writeFileSync(spec, sweep([4]));
    const first = await apply(spec, teamId);
    expect(first.stderr).toBe("");
    expect(first.stdout).toContain("Applied: 2 new run(s) queued");

    await page.goto("/");
    await page.getByTestId("project-list").getByRole("link", { name: "Dashboard e2e" }).click();
    await page.getByTestId("experiment-link").filter({ hasText: "tiny-sweep" }).click();
    await expect(page).toHaveURL(/\/experiments\/[^/?]+$/);
    await expect(page.getByRole("heading", { level: 1, name: "tiny-sweep" })).toBeVisible();
    const rows = page.getByTestId("run-row");
    await expect(rows).toHaveCount(2);
    await expect(page.locator('[data-testid="run-row"][data-status="succeeded"]')).toHaveCount(2, { timeout: 60_000 });
    // The event stream is up before more runs are queued.
    await expect(page.getByTestId("live-badge")).toHaveAttribute("data-mode", "live");
    await recordRowStatuses(page);

    // Version 2 adds two widths: four new runs, two at a time on the worker's two slots.
    writeFileSync(spec, sweep([4, 16, 64]));
    const second = await apply(spec, teamId);
    expect(second.stdout).toContain("Applied: 4 new run(s) queued");
    await expect(rows).toHaveCount(6, { timeout: 30_000 });
    // Runs this small can finish within a second: the observer, not a poll, is what sees them running.
    await expect
      .poll(
        () =>
          page.evaluate(() =>
            [...(window as unknown as { statusesSeen: Set<string> }).statusesSeen].some((entry) =>
              entry.endsWith(":running"),
            ),
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
    await page.screenshot({ path: testInfo.outputPath("dashboard-experiment-running.png"), fullPage: true });
    await expect(page.locator('[data-testid="run-row"][data-status="succeeded"]')).toHaveCount(6, { timeout: 120_000 });
    await expect(page.getByTestId("count-succeeded")).toHaveText("6 succeeded");

    const { statuses, loadedOnce } = await page.evaluate(() => {
      const state = window as unknown as { statusesSeen: Set<string>; loadedOnce?: boolean };
      return { statuses: [...state.statusesSeen], loadedOnce: state.loadedOnce === true };
    });
    expect(loadedOnce, "the page was not reloaded").toBe(true);
    const byRun = new Map<string, Set<string>>();
    for (const entry of statuses) {
      const [runId, status] = entry.split(":") as [string, string];
      byRun.set(runId, (byRun.get(runId) ?? new Set()).add(status));
    }
    const newRuns = [...byRun.values()].filter((seen) => !(seen.size === 1 && seen.has("succeeded")));
    expect(newRuns).toHaveLength(4);
    for (const seen of newRuns) {
      expect(seen.has("running") && seen.has("succeeded"), `statuses seen: ${[...seen].join(", ")}`).toBe(true);
    }
    // Two slots for four runs: at least two waited in the queue, shown as queued.
    expect(newRuns.filter((seen) => seen.has("queued")).length).toBeGreaterThanOrEqual(1);

    // The default panels: val/loss curves and the scaling fit across three widths.
    const curves = page.getByTestId("curves-panel");
    await expect(curves.locator("canvas")).toBeVisible();
    await expect(curves).toHaveAttribute("data-metric", "val/loss");
    const scaling = page.getByTestId("scaling-panel");
    await expect(scaling.getByTestId("scaling-fit")).toContainText(/L\(N\) = E \+ A·N\^-α with α = \d+\.\d+/, {
      timeout: 30_000,
    });

    // Group the table by width: three groups of two seeds.
    await page.getByTestId("runs-group-by").selectOption("model.width");
    await expect(page.getByTestId("runs-group")).toHaveCount(3);
    await expect(page).toHaveURL(/tgroup=model\.width/);
    await page.screenshot({ path: testInfo.outputPath("dashboard-experiment.png"), fullPage: true });

    // Select every run and compare them.
    // The box is controlled by the URL (sel=...), so it turns checked once the URL has the ids.
    const selectAll = page.getByRole("checkbox", { name: "Select all loaded runs" });
    await selectAll.click();
    await expect(selectAll).toBeChecked();
    await expect(page.getByTestId("selection-bar")).toContainText("6 runs selected");
    await expect(page).toHaveURL(/sel=/);
    await page.getByTestId("compare-link").click();
    await expect(page).toHaveURL(/\/compare\?runs=/);
    await expect(page.getByRole("heading", { level: 1, name: "Compare 6 runs" })).toBeVisible();
    await expect(page.getByTestId("compare-run")).toHaveCount(6);

    const compareCurves = page.getByTestId("curves-panel");
    await expect(compareCurves.locator("canvas")).toBeVisible();
    await compareCurves.getByTestId("curves-x").selectOption("wallclock");
    await expect(compareCurves).toHaveAttribute("data-x", "wallclock");
    await expect(page).toHaveURL(/[?&]x=wallclock/);
    await expect(compareCurves.locator("canvas")).toBeVisible();
    await compareCurves.getByTestId("curves-x").selectOption("flops");
    await expect(compareCurves).toHaveAttribute("data-x", "flops");
    await expect(compareCurves.locator("canvas")).toBeVisible();

    const logX = compareCurves.getByTestId("curves-logx");
    await logX.click();
    await expect(logX).toHaveAttribute("aria-pressed", "true");
    await expect(page).toHaveURL(/logx=1/);

    // Zoom in: the window is re-queried from the server at full resolution.
    const requery = page.waitForRequest(
      (candidate) => candidate.url().includes("metrics.series") && (candidate.postData() ?? "").includes("xMin"),
    );
    await compareCurves.getByTestId("curves-zoom-in").click();
    await requery;
    await expect(compareCurves).not.toHaveAttribute("data-window", "");
    await expect(compareCurves.getByTestId("curves-resolution")).toContainText("FLOPs");
    await expect(page).toHaveURL(/xmin=/);
    // Ctrl+wheel over the chart zooms further, and asks again.
    const box = await compareCurves.locator("canvas").boundingBox();
    expect(box).not.toBeNull();
    const windowBefore = await compareCurves.getAttribute("data-window");
    const wheelRequery = page.waitForRequest(
      (candidate) => candidate.url().includes("metrics.series") && (candidate.postData() ?? "").includes("xMin"),
    );
    await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -300);
    await page.keyboard.up("Control");
    await wheelRequery;
    await expect(compareCurves).not.toHaveAttribute("data-window", windowBefore ?? "");
    await compareCurves.getByTestId("curves-zoom-reset").click();
    await expect(compareCurves).toHaveAttribute("data-window", "");

    // The scaling fit over the compared runs, and what differs between them.
    const compareScaling = page.getByTestId("scaling-panel");
    await expect(compareScaling.getByTestId("scaling-fit")).toContainText(/α = \d+\.\d+ \[\d+\.\d+, \d+\.\d+\]/, {
      timeout: 30_000,
    });
    const fitText = (await compareScaling.getByTestId("scaling-fit").textContent()) ?? "";
    const alpha = Number(/α = (\d+\.\d+)/.exec(fitText)?.[1]);
    expect(alpha, fitText).toBeGreaterThan(0.01);
    await compareScaling.getByTestId("scaling-x").selectOption("flops");
    await expect(compareScaling.getByTestId("scaling-fit")).toContainText("L(C) = E + A·C^-α");
    await expect(page.getByTestId("config-diff").getByTestId("config-diff-row").first()).toContainText("model.width");
    await page.screenshot({ path: testInfo.outputPath("dashboard-compare.png"), fullPage: true });

    // A run's own page: its curves and its logs.
    await page.getByTestId("compare-run").first().getByRole("link").click();
    await expect(page).toHaveURL(/\/runs\/[^/?]+/);
    await expect(page.getByTestId("run-summary")).toBeVisible();
    await expect(page.getByTestId("run-curves").first().locator("canvas")).toBeVisible();
    await expect(page.getByTestId("run-logs")).toBeVisible();
    // The whole run from run.get: its resolved config, what the trainer reported, where it ran.
    await expect(page.getByTestId("run-params")).toContainText("model.width");
    await expect(page.getByTestId("run-config-entries")).toContainText("model.family");
    await expect(page.getByTestId("run-environment-entries")).toContainText("backend");
    await expect(page.getByTestId("run-summary-entries")).not.toBeEmpty();
    await page.screenshot({ path: testInfo.outputPath("dashboard-run.png"), fullPage: true });

    // Phone width: the header wraps instead of overflowing, and no page scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, go] of [
      ["run", async () => undefined],
      [
        "experiment",
        async () => {
          await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "tiny-sweep" }).click();
          await expect(page.getByRole("heading", { level: 1, name: "tiny-sweep" })).toBeVisible();
          await expect(page.getByTestId("run-row").first()).toBeVisible();
        },
      ],
    ] as const) {
      await go();
      await expect(
        page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }),
      ).toBeInViewport();
      await expect(page.getByTestId("health-badge")).toBeInViewport();
      const overflow = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth - window.innerWidth,
        header: [...document.querySelectorAll("header")].map((header) => header.scrollWidth - header.clientWidth),
      }));
      expect(overflow, `${name} page at 390 px`).toEqual({ page: 0, header: overflow.header.map(() => 0) });
      await page.screenshot({ path: testInfo.outputPath(`dashboard-${name}-390px.png`), fullPage: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
