import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { failOnBrowserErrors, trpc } from "./support.ts";

/**
 * The compare page's early chart (app/_features/charts/early-curves/, issue #18 item 7): the curves
 * are drawn from the preloaded points before the page's JavaScript has hydrated, look as the live chart
 * then draws them (same colours, the same picture), and leave once the live chart is up; a page whose
 * early script does not run still draws its curves.
 */

failOnBrowserErrors();

const RUNS = 14;
const STEPS = 200;
const lossAt = (run: number, step: number) => (2 + run * 0.05) / (1 + step / 30) + 0.05 * Math.sin(step * 0.3 + run);

/** Fourteen finished runs (hairlines: more than a dozen) logging train/loss at every step, in a fresh team. */
async function logRuns(page: Page, request: APIRequestContext, baseURL: string): Promise<string[]> {
  const teamId = (await trpc<{ id: string }>(request, baseURL, "team.create", { name: "Early chart e2e" })).id;
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL }]);
  const { key } = await trpc<{ key: string }>(request, baseURL, "apiKey.create", {
    teamId,
    name: "early",
    scope: "ingest",
  });
  const headers = { authorization: `Bearer ${key}` };
  const ids: string[] = [];
  for (let run = 0; run < RUNS; run++) {
    const created = await request.post("/api/v1/runs", {
      headers,
      data: { project: "Early chart e2e", experiment: "early", name: `run-${run}`, config: {} },
    });
    expect(created.status()).toBe(201);
    const { runId } = (await created.json()) as { runId: string };
    const points = Array.from({ length: STEPS }, (_, step) => ({ key: "train/loss", step, value: lossAt(run, step) }));
    expect((await request.post(`/api/v1/runs/${runId}/points`, { headers, data: { points } })).status()).toBe(200);
    expect(
      (await request.post(`/api/v1/runs/${runId}/finish`, { headers, data: { status: "succeeded" } })).status(),
    ).toBe(200);
    ids.push(runId);
  }
  return ids;
}

/** Share of pixels that differ by more than `tolerance` in any channel between two PNGs of one size, computed in the page. */
function pixelDifference(page: Page, a: Buffer, b: Buffer, tolerance = 64): Promise<number> {
  return page.evaluate(
    async ([first, second, tolerance]) => {
      const pixels = async (base64: string) => {
        const image = new Image();
        image.src = `data:image/png;base64,${base64}`;
        await image.decode();
        const canvas = document.createElement("canvas");
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext("2d")!;
        context.drawImage(image, 0, 0);
        return context.getImageData(0, 0, image.width, image.height);
      };
      const [x, y] = await Promise.all([pixels(first as string), pixels(second as string)]);
      if (x.width !== y.width || x.height !== y.height) return 1;
      let differing = 0;
      for (let index = 0; index < x.data.length; index += 4) {
        for (let channel = 0; channel < 3; channel++) {
          if (Math.abs(x.data[index + channel]! - y.data[index + channel]!) > (tolerance as number)) {
            differing++;
            break;
          }
        }
      }
      return differing / (x.width * x.height);
    },
    [a.toString("base64"), b.toString("base64"), tolerance] as const,
  );
}

test("the compare page draws its curves before it hydrates, then the same picture live", async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  test.setTimeout(120_000);
  const ids = await logRuns(page, request, baseURL!);
  // Hold the page's own scripts (Next.js's chunks) until the early chart has been looked at.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route("**/_next/static/chunks/**/*.js", async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(`/compare?runs=${ids.join(",")}`, { waitUntil: "commit" });

  const curves = page.getByTestId("curves-panel");
  const slot = curves.locator("[data-early-curves]");
  await expect(slot).toHaveAttribute("data-early-series", String(RUNS), { timeout: 30_000 });
  // Before the page's scripts have run: no live chart yet, and the early one is what is on screen.
  await expect(curves.locator("canvas")).toHaveCount(0);
  const earlyColours = (await slot.getAttribute("data-early-series-colors"))!.split(" ");
  expect(new Set(earlyColours).size).toBe(RUNS);
  const box = (await slot.boundingBox())!;
  expect(box.height).toBe(320);
  const early = await page.screenshot({ clip: box });
  await testInfo.attach("early chart", { body: early, contentType: "image/png" });

  release();
  const canvas = curves.locator("canvas");
  await expect(canvas).toHaveAttribute("data-series", String(RUNS), { timeout: 30_000 });
  // The early chart leaves once the live one has drawn over it.
  await expect(slot).toHaveCount(0);
  expect((await canvas.getAttribute("data-series-colors"))!.split(" ")).toEqual(earlyColours);
  const liveBox = (await canvas.boundingBox())!;
  expect({ x: liveBox.x, y: liveBox.y, width: liveBox.width, height: liveBox.height }).toEqual(box);
  const live = await page.screenshot({ clip: liveBox });
  await testInfo.attach("live chart", { body: live, contentType: "image/png" });
  // The same axes, ticks, grid and lines: at most a few pixels of anti-aliasing apart.
  const difference = await pixelDifference(page, early, live);
  testInfo.annotations.push({ type: "pixels that differ", description: `${(difference * 100).toFixed(3)}%` });
  console.log(`early vs live chart: ${(difference * 100).toFixed(3)}% of pixels differ`);
  expect(difference).toBeLessThan(0.01);
});

test("on an ordinary load the early chart is drawn first, above the runs table, and gone once the live chart is up", async ({
  page,
  request,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const ids = await logRuns(page, request, baseURL!);
  // When each chart first showed all its lines, as the page's own clock tells it.
  await page.addInitScript(() => {
    const drawn: Record<string, number> = {};
    (window as unknown as { chartsDrawn: Record<string, number> }).chartsDrawn = drawn;
    new MutationObserver((records) => {
      for (const record of records) {
        const element = record.target as HTMLElement;
        if (record.attributeName === "data-early-series") drawn.early ??= performance.now();
        if (record.attributeName === "data-series" && element.dataset.series !== "0") drawn.live ??= performance.now();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-early-series", "data-series"] });
  });
  await page.goto(`/compare?runs=${ids.join(",")}`);
  const curves = page.getByTestId("curves-panel");
  await expect(curves.locator("canvas")).toHaveAttribute("data-series", String(RUNS), { timeout: 30_000 });
  await expect(curves.locator("[data-early-curves]")).toHaveCount(0);
  const drawn = await page.evaluate(() => (window as unknown as { chartsDrawn: Record<string, number> }).chartsDrawn);
  expect(drawn.early).toBeLessThan(drawn.live!);
  // The charts come first: with many runs the table would otherwise push them below the fold.
  const chartTop = (await curves.boundingBox())!.y;
  const tableTop = (await page.getByTestId("compare-runs").boundingBox())!.y;
  expect(chartTop).toBeLessThan(tableTop);
  expect(chartTop).toBeLessThan(page.viewportSize()!.height);
  // The script is a static file named by its content's hash: cached for a year, with the app's headers.
  const src = await page.locator('script[src*="/scaleboard/early-curves.js"]').getAttribute("src");
  expect(src).toMatch(/^\/scaleboard\/early-curves\.js\?v=[0-9a-f]{16}$/);
  const script = await request.get(src!);
  expect(script.headers()["content-type"]).toMatch(/javascript/);
  expect(script.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  expect(script.headers()["x-content-type-options"]).toBe("nosniff");
  expect(script.headers()["content-security-policy"]).toContain("script-src 'self'");
});

test("without its early script the compare page still draws its curves", async ({ page, request, baseURL }) => {
  test.setTimeout(120_000);
  const ids = await logRuns(page, request, baseURL!);
  // The script answers empty: nothing draws early and nothing releases the hydration hold but its time limit.
  await page.route("**/scaleboard/early-curves.js*", (route) =>
    route.fulfill({ status: 200, contentType: "text/javascript", body: "" }),
  );
  await page.goto(`/compare?runs=${ids.join(",")}`);
  const curves = page.getByTestId("curves-panel");
  await expect(curves.locator("canvas")).toHaveAttribute("data-series", String(RUNS), { timeout: 30_000 });
  await expect(curves.locator("[data-early-series]")).toHaveCount(0);
  // Every logged point (14 x 200), as the resolution line rounds it.
  await expect(curves.getByTestId("curves-resolution")).toHaveText("all 2.8k points");
});

/** The page's own requests (its main thread's resource timeline; a worker's requests are in the worker's). */
function pageRequests(page: Page): Promise<string[]> {
  return page.evaluate(() => performance.getEntriesByType("resource").map((entry) => entry.name));
}

test("the curves' points load in a worker, once, and without the worker on the page's own thread", async ({
  page,
  request,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const ids = await logRuns(page, request, baseURL!);
  const curves = page.getByTestId("curves-panel");
  await page.goto(`/compare?runs=${ids.join(",")}`);
  await expect(curves.locator("canvas")).toHaveAttribute("data-series", String(RUNS), { timeout: 30_000 });
  const requests = await pageRequests(page);
  // The worker fetched the answer; neither the early chart nor the live one asked again.
  expect(requests.some((name) => name.includes("/scaleboard/series-worker.js?v="))).toBe(true);
  expect(requests.filter((name) => name.includes("/api/metrics/series"))).toEqual([]);
  expect(requests.filter((name) => name.includes("metrics.series"))).toEqual([]);
  await expect(curves.getByTestId("curves-resolution")).toHaveText("all 2.8k points");

  // A worker that cannot start: the page fetches the points itself, and both charts still draw them.
  await page.route("**/scaleboard/series-worker.js*", (route) => route.fulfill({ status: 404, body: "" }));
  await page.addInitScript(() => {
    new MutationObserver((records) => {
      for (const record of records)
        if (record.attributeName === "data-early-series")
          (window as unknown as { earlySeries: string }).earlySeries = (record.target as HTMLElement).dataset
            .earlySeries!;
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-early-series"] });
  });
  await page.reload();
  await expect(curves.locator("canvas")).toHaveAttribute("data-series", String(RUNS), { timeout: 30_000 });
  expect(await page.evaluate(() => (window as unknown as { earlySeries?: string }).earlySeries)).toBe(String(RUNS));
  const fallback = await pageRequests(page);
  expect(fallback.filter((name) => name.includes("/api/metrics/series"))).toHaveLength(1);
  expect(fallback.filter((name) => name.includes("metrics.series"))).toEqual([]);
  await expect(curves.getByTestId("curves-resolution")).toHaveText("all 2.8k points");
});
