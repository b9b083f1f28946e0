import { expect, test, type Locator, type Page } from "@playwright/test";
import { failOnBrowserErrors } from "./support.ts";

/**
 * Plan answers where the eye is: the spec editor's plan table (or the reasons a spec cannot be
 * planned) renders below the editor, below the fold at 1280 x 720, and is scrolled into view once
 * it comes. Nothing is applied.
 */

failOnBrowserErrors();

const TYPO_SPEC = `project: Plan scroll e2e
experiment: typo
dataset: { kind: teacher, inputs: 4 }
model: { family: mlp, widht: 8 }
training: { optimizer: { kind: adam, lr: 0.01 }, budget: { steps: 20 } }
`;

/** Where an element is against the window: its box in the viewport and its top in the page. */
function placeOf(locator: Locator) {
  return locator.evaluate((element) => {
    const box = element.getBoundingClientRect();
    return { top: box.top, bottom: box.bottom, pageTop: box.top + window.scrollY, innerHeight: window.innerHeight };
  });
}

/** Waits until the element's top edge lies inside the window (a smooth scroll takes a few frames). */
async function expectInView(locator: Locator) {
  await expect
    .poll(async () => {
      const place = await placeOf(locator);
      return place.top >= 0 && place.top < place.innerHeight && place.bottom > 0;
    })
    .toBe(true);
}

async function replaceSpec(page: Page, text: string) {
  const content = page.locator(".cm-content");
  await content.click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.press("Delete");
  await expect(content).toHaveText("");
  await page.keyboard.insertText(text);
  await expect(content).toContainText(text.split("\n")[1] ?? "");
}

test("after Plan, the plan table and the plan's errors are scrolled into view", async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto("/editor");
  // The starter spec (the MLP width example): 7 widths x 3 seeds.
  await expect(page.getByTestId("cell-count")).toHaveText("21 cells");
  await page.evaluate(() => window.scrollTo(0, 0));

  await page.getByRole("button", { name: "Plan", exact: true }).click();
  const table = page.getByTestId("plan-create-table");
  await expect(table.locator("tbody tr")).toHaveCount(21);
  // The table lies below the fold of the page; the page scrolled to it.
  const place = await placeOf(table);
  expect(place.pageTop, "the plan table renders below the fold").toBeGreaterThan(place.innerHeight);
  await expectInView(table);
  await page.screenshot({ path: testInfo.outputPath("plan-in-view.png") });

  // A spec that cannot be planned: its reasons come into view the same way.
  await page.evaluate(() => window.scrollTo(0, 0));
  await replaceSpec(page, TYPO_SPEC);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByRole("button", { name: "Plan", exact: true }).click();
  const issues = page.getByTestId("plan-issues");
  await expect(issues).toContainText('unknown key "widht"');
  await expectInView(issues);
  await page.screenshot({ path: testInfo.outputPath("plan-errors-in-view.png") });
});
