import { expect, test, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { failOnBrowserErrors, trpc } from "./support.ts";
import { luminance } from "../helpers/luminance.ts";

/**
 * Colour by a parameter (issue #18 item 2), in Chromium on the compare page: 24 runs (six widths x four
 * seeds) are past the palette's 20 distinct colours, so the curves colour each line by its width on a
 * sequential scale: every seed of a width shares its colour, wider is lighter, and the legend shows
 * the scale's key. The choice is kept in the URL (colorBy=...), a string parameter gets a palette
 * colour per value, and 20 runs still get 20 distinct palette colours.
 */

failOnBrowserErrors();

const WIDTHS = [8, 16, 32, 64, 128, 256];
const SEEDS = [0, 1, 2, 3];
const optimizerOf = (width: number) => (width <= 32 ? "adam" : "sgd");

/** 24 runs over /api/v1 in a fresh team, each with ten val/loss points; their ids in width, then seed order. */
async function logSweep(page: Page, request: APIRequestContext, baseURL: string): Promise<string[]> {
  const teamId = (await trpc<{ id: string }>(request, baseURL, "team.create", { name: "Colour by e2e" })).id;
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL }]);
  const { key } = await trpc<{ key: string }>(request, baseURL, "apiKey.create", {
    teamId,
    name: "colour-by",
    scope: "ingest",
  });
  const headers = { authorization: `Bearer ${key}` };
  const ids: string[] = [];
  for (const width of WIDTHS) {
    for (const seed of SEEDS) {
      const created = await request.post("/api/v1/runs", {
        headers,
        data: {
          project: "Colour by e2e",
          experiment: "widths",
          name: `width=${width} seed=${seed}`,
          config: { "model.width": width, "training.seed": seed, optimizer: optimizerOf(width) },
        },
      });
      expect(created.status()).toBe(201);
      const { runId } = (await created.json()) as { runId: string };
      const points = Array.from({ length: 10 }, (_, index) => ({
        key: "val/loss",
        step: index * 10,
        value: (1 + seed / 20) / Math.log2(width) + 1 / (index + 1),
      }));
      expect((await request.post(`/api/v1/runs/${runId}/points`, { headers, data: { points } })).status()).toBe(200);
      expect(
        (await request.post(`/api/v1/runs/${runId}/finish`, { headers, data: { status: "succeeded" } })).status(),
      ).toBe(200);
      ids.push(runId);
    }
  }
  return ids;
}

/**
 * Each drawn line's colour by its run's name: the canvas lists the lines' colours in drawing order
 * (line-canvas.tsx), which is the legend's order when no run lacks the metric.
 */
async function lineColours(curves: Locator): Promise<Map<string, string>> {
  const colours = ((await curves.locator("canvas").getAttribute("data-series-colors")) ?? "").split(" ");
  const names = await curves
    .getByTestId("curves-legend")
    .locator("li button")
    .evaluateAll((buttons) => buttons.map((button) => (button.textContent ?? "").trim()));
  expect(names).toHaveLength(colours.length);
  return new Map(names.map((name, index) => [name, colours[index]!]));
}

/** Same-width lines share a colour, widths differ, wider is lighter, and the key names each width's colour. */
async function expectColouredByWidth(curves: Locator) {
  const colours = await lineColours(curves);
  expect(colours.size).toBe(WIDTHS.length * SEEDS.length);
  const byWidth = WIDTHS.map((width) => new Set(SEEDS.map((seed) => colours.get(`width=${width} seed=${seed}`))));
  for (const [index, set] of byWidth.entries()) expect(set.size, `width ${WIDTHS[index]}: ${[...set]}`).toBe(1);
  const widthColours = byWidth.map((set) => [...set][0]!);
  expect(new Set(widthColours).size).toBe(WIDTHS.length);
  const lightness = widthColours.map(luminance);
  expect(lightness, widthColours.join(" ")).toEqual([...lightness].sort((a, b) => a - b));

  const key = curves.getByTestId("curves-colour-key");
  await expect(key).toBeVisible();
  await expect(key).toHaveAttribute("data-param", "model.width");
  await expect(key).toContainText("Colour: model.width (log scale)");
  await expect(key.getByTestId("colour-key-min")).toHaveText("8");
  await expect(key.getByTestId("colour-key-max")).toHaveText("256");
  const entries = await key
    .getByTestId("colour-key-value")
    .evaluateAll((items) => items.map((item) => [item.getAttribute("data-value"), item.getAttribute("data-color")]));
  expect(entries).toEqual(WIDTHS.map((width, index) => [String(width), widthColours[index]]));
}

test("past 20 lines the curves are coloured by width, kept in the URL; 20 lines keep 20 palette colours", async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  test.setTimeout(180_000);
  const ids = await logSweep(page, request, baseURL!);
  const curves = page.getByTestId("curves-panel");
  const canvas = curves.locator("canvas");
  const colourBy = curves.getByTestId("curves-colour-by");

  // 24 lines, no choice made: coloured by model.width, the numeric parameter swept (seeds are not offered).
  await page.goto(`/compare?runs=${ids.join(",")}&metric=val/loss`);
  await expect(canvas).toHaveAttribute("data-series", "24");
  await expect(curves).toHaveAttribute("data-colour-by", "model.width");
  await expect(colourBy).toHaveValue("model.width");
  expect(await colourBy.locator("option").allTextContents()).toEqual([
    "none (a colour per run)",
    "model.width",
    "optimizer",
  ]);
  await expectColouredByWidth(curves);
  // The key stands for the runs' entries, which stay one click away.
  await expect(curves.getByTestId("curves-legend")).toBeHidden();
  await curves.screenshot({ path: testInfo.outputPath("colour-by-width.png") });

  // Dark mode: the same order, on the scale's part readable against slate-900.
  const narrowest = curves.locator('[data-testid="colour-key-value"][data-value="8"]');
  const narrowestLight = await narrowest.getAttribute("data-color");
  await page.evaluate(() => document.documentElement.classList.add("dark"));
  await expect(narrowest).not.toHaveAttribute("data-color", narrowestLight!);
  const narrowestDark = await narrowest.getAttribute("data-color");
  await expect.poll(async () => (await lineColours(curves)).get("width=8 seed=0")).toBe(narrowestDark);
  await expectColouredByWidth(curves);
  await curves.screenshot({ path: testInfo.outputPath("colour-by-width-dark.png") });
  await page.evaluate(() => document.documentElement.classList.remove("dark"));

  // A string parameter: a palette colour per value; the choice is in the URL and survives a reload.
  await colourBy.selectOption("optimizer");
  await expect(page).toHaveURL(/[?&]colorBy=optimizer(&|$)/);
  await expect(curves).toHaveAttribute("data-colour-by", "optimizer");
  await expect(curves.getByTestId("curves-colour-key")).toHaveAttribute("data-kind", "categorical");
  await page.reload();
  await expect(curves).toHaveAttribute("data-colour-by", "optimizer");
  await expect(canvas).toHaveAttribute("data-series", "24");
  await expect
    .poll(async () => {
      const colours = await lineColours(curves);
      return ["adam", "sgd"].map(
        (optimizer) =>
          new Set(
            WIDTHS.filter((width) => optimizerOf(width) === optimizer).flatMap((width) =>
              SEEDS.map((seed) => colours.get(`width=${width} seed=${seed}`)),
            ),
          ).size,
      );
    })
    .toEqual([1, 1]);
  const optimizerColours = await curves
    .getByTestId("colour-key-value")
    .evaluateAll((items) => items.map((item) => item.getAttribute("data-color")));
  expect(new Set(optimizerColours).size).toBe(2);

  // "none": a palette colour per run again, no key; the URL says so.
  await colourBy.selectOption("none");
  await expect(page).toHaveURL(/[?&]colorBy=none(&|$)/);
  await expect(curves.getByTestId("curves-colour-key")).toHaveCount(0);
  await expect(curves.getByTestId("curves-legend")).toBeVisible();
  await expect.poll(async () => new Set((await lineColours(curves)).values()).size).toBe(24);

  // Back to width by the URL alone.
  await page.goto(`/compare?runs=${ids.join(",")}&metric=val/loss&colorBy=model.width`);
  await expect(canvas).toHaveAttribute("data-series", "24");
  await expect(colourBy).toHaveValue("model.width");
  await expectColouredByWidth(curves);

  // Twenty lines: the palette still tells every one apart, with no colour key.
  await page.goto(`/compare?runs=${ids.slice(0, 20).join(",")}&metric=val/loss`);
  await expect(canvas).toHaveAttribute("data-series", "20");
  await expect(curves).toHaveAttribute("data-colour-by", "");
  await expect(colourBy).toHaveValue("none");
  await expect(curves.getByTestId("curves-colour-key")).toHaveCount(0);
  const twenty = [...(await lineColours(curves)).values()];
  expect(twenty).toHaveLength(20);
  expect(new Set(twenty).size, twenty.join(" ")).toBe(20);
  await curves.screenshot({ path: testInfo.outputPath("twenty-distinct.png") });
});
