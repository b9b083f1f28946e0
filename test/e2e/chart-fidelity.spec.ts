import { readFileSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { expect, test, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { failOnBrowserErrors, trpc } from "./support.ts";

/**
 * Charts that never drop or hide a logged point (issue #16 item 2), in Chromium on the compare page:
 * val/loss against FLOPs keeps every evaluation point (FLOPs are logged every 10 steps, evaluations
 * every 25), a zoom window with one point inside still draws its line to the window's edges, and a
 * zoomed smoothed curve equals the unzoomed one at the same steps.
 */

failOnBrowserErrors();

const EVAL_STEPS = Array.from({ length: 13 }, (_, index) => index * 25);
const flopsAt = (step: number) => 6e6 * step;
const valLossAt = (step: number) => 3 / (1 + step / 50);
/** A noisy training loss, so that smoothing visibly changes it. */
const trainLossAt = (step: number) => 2 / (1 + step / 40) + 0.2 * Math.sin(step * 1.7);

/** Two runs over /api/v1 in a fresh team: "evals" (val/loss every 25 steps, FLOPs every 10, train/loss every step) and "sparse" (val/loss at 0, 100, 200, 300). */
async function logRuns(page: Page, request: APIRequestContext, baseURL: string): Promise<Record<string, string>> {
  const teamId = (await trpc<{ id: string }>(request, baseURL, "team.create", { name: "Chart fidelity e2e" })).id;
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL }]);
  const { key } = await trpc<{ key: string }>(request, baseURL, "apiKey.create", {
    teamId,
    name: "fidelity",
    scope: "ingest",
  });
  const headers = { authorization: `Bearer ${key}` };
  const flops = Array.from({ length: 31 }, (_, index) => ({
    key: "flops",
    step: index * 10,
    value: flopsAt(index * 10),
  }));
  const logged: Record<string, { key: string; step: number; value: number | string }[]> = {
    evals: [
      ...flops,
      ...EVAL_STEPS.map((step) => ({ key: "val/loss", step, value: valLossAt(step) })),
      ...Array.from({ length: 301 }, (_, step) => ({ key: "train/loss", step, value: trainLossAt(step) })),
      // JSON has no NaN or infinities: the logging API takes them as strings.
      ...[1, "NaN", 2, "Infinity", 3, "-Infinity", 4].map((value, step) => ({ key: "grad/norm", step, value })),
    ],
    sparse: [...flops, ...[0, 100, 200, 300].map((step) => ({ key: "val/loss", step, value: valLossAt(step) + 0.5 }))],
  };
  const ids: Record<string, string> = {};
  for (const [name, points] of Object.entries(logged)) {
    const created = await request.post("/api/v1/runs", {
      headers,
      data: { project: "Chart fidelity e2e", experiment: "fidelity", name, config: {} },
    });
    expect(created.status()).toBe(201);
    const { runId } = (await created.json()) as { runId: string };
    expect((await request.post(`/api/v1/runs/${runId}/points`, { headers, data: { points } })).status()).toBe(200);
    expect(
      (await request.post(`/api/v1/runs/${runId}/finish`, { headers, data: { status: "succeeded" } })).status(),
    ).toBe(200);
    ids[name] = runId;
  }
  return ids;
}

/** The chart's CSV export, as rows of (series, kind, x, y, x interpolated). */
async function exportCsv(page: Page, curves: Locator): Promise<string[][]> {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    curves.getByTestId("curves-export-csv").click(),
  ]);
  const rows = parse(readFileSync((await download.path())!, "utf8")) as string[][];
  return rows.slice(1);
}

test("charts keep every logged point: x = FLOPs, a zoom window with one point inside, zoomed smoothing", async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  test.setTimeout(120_000);
  const ids = await logRuns(page, request, baseURL!);
  const runs = `${ids.evals},${ids.sparse}`;
  const curves = page.getByTestId("curves-panel");
  const canvas = curves.locator("canvas");
  const resolution = curves.getByTestId("curves-resolution");

  // val/loss against the step, then against FLOPs: the same 17 points (13 + 4).
  await page.goto(`/compare?runs=${runs}&metric=val/loss`);
  await expect(canvas).toHaveAttribute("data-series", "2");
  await expect(resolution).toHaveText("all 17 points");
  await page.goto(`/compare?runs=${runs}&metric=val/loss&x=flops`);
  await expect(curves).toHaveAttribute("data-x", "flops");
  await expect(canvas).toHaveAttribute("data-series", "2");
  await expect(resolution).toHaveText("all 17 points");
  const byFlops = await exportCsv(page, curves);
  expect(byFlops).toHaveLength(17);
  // Steps 25, 75, ..., 275 had no FLOPs logged: their x is interpolated, and the CSV says so.
  const interpolated = byFlops.filter((row) => row[4] === "yes");
  expect(interpolated.map((row) => Number(row[2]))).toEqual([25, 75, 125, 175, 225, 275].map(flopsAt));
  expect(interpolated.map((row) => Number(row[3]))).toEqual([25, 75, 125, 175, 225, 275].map(valLossAt));
  await curves.screenshot({ path: testInfo.outputPath("val-loss-vs-flops.png") });

  // A window holding one point of "sparse" (step 200) and three of "evals": both lines are drawn
  // across it, out to the nearest points beyond its edges; the count and the CSV hold the window's points only.
  await page.goto(`/compare?runs=${runs}&metric=val/loss&xmin=160&xmax=240`);
  await expect(curves).toHaveAttribute("data-window", "160,240");
  await expect(canvas).toHaveAttribute("data-lines-in-view", "2");
  await expect(resolution).toContainText("all 4 points");
  const windowRows = await exportCsv(page, curves);
  expect(windowRows.map((row) => [row[0], Number(row[2])])).toEqual([
    ["evals", 175],
    ["evals", 200],
    ["evals", 225],
    ["sparse", 200],
  ]);
  // A window between two points of "sparse", none inside: its line still crosses it.
  await page.goto(`/compare?runs=${ids.sparse}&metric=val/loss&xmin=120&xmax=180`);
  await expect(canvas).toHaveAttribute("data-lines-in-view", "1");
  await expect(curves.getByTestId("legend-missing")).toHaveCount(0);
  await curves.screenshot({ path: testInfo.outputPath("window-crossing.png") });
  // A run without the metric says so in the legend.
  await page.goto(`/compare?runs=${runs}&metric=train/loss`);
  await expect(curves.getByTestId("legend-missing")).toHaveText("sparse(no train/loss)");

  // NaN, +Infinity and -Infinity: gaps in the line, each with a marker, and written as such in the CSV.
  await page.goto(`/compare?runs=${ids.evals}&metric=grad/norm`);
  await expect(canvas).toHaveAttribute("data-series", "1");
  await expect(canvas).toHaveAttribute("data-non-finite", "3");
  expect((await exportCsv(page, curves)).map((row) => row[3])).toEqual([
    "1",
    "NaN",
    "2",
    "Infinity",
    "3",
    "-Infinity",
    "4",
  ]);
  await curves.screenshot({ path: testInfo.outputPath("non-finite-markers.png") });

  // Smoothed train/loss, unzoomed and zoomed: equal at every step the window shows.
  const smoothedAt = async (query: string) => {
    await page.goto(`/compare?runs=${ids.evals}&metric=train/loss&smooth=0.9${query}`);
    await expect(canvas).toHaveAttribute("data-series", "1");
    await expect(resolution).not.toContainText("Loading");
    const rows = await exportCsv(page, curves);
    return new Map(rows.filter((row) => row[1] === "main").map((row) => [Number(row[2]), Number(row[3])]));
  };
  const unzoomed = await smoothedAt("");
  const zoomed = await smoothedAt("&xmin=200&xmax=260");
  expect([...zoomed.keys()]).toEqual(Array.from({ length: 61 }, (_, index) => 200 + index));
  // The EMA of the logged values, from step 0 (TensorBoard's debiased form).
  let running = 0;
  const expected = Array.from({ length: 301 }, (_, step) => {
    running = running * 0.9 + 0.1 * trainLossAt(step);
    return running / (1 - 0.9 ** (step + 1));
  });
  for (const [step, value] of zoomed) {
    expect(value, `step ${step}`).toBe(unzoomed.get(step));
    expect(value, `step ${step}`).toBeCloseTo(expected[step]!, 12);
  }
});
