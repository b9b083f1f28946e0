import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { failOnBrowserErrors } from "./support.ts";

/**
 * The spec editor in a real browser against the local single-user server (auth off, the local
 * admin): inline validation as you type, plan, apply, re-plan, the project page, and the spec
 * history with its diff once a second version is applied.
 */

failOnBrowserErrors();

// Two widths of a tiny MLP, 20 steps each: cheap for the worker that picks them up.
const GOOD_SPEC = `project: Editor e2e
experiment: tiny-widths
description: Two widths of a tiny MLP, planned and applied from the browser.
dataset: { kind: teacher, inputs: 4, outputs: 1, hidden: 8, samples: 256 }
model:
  family: mlp
  depth: 1
  width: 8
training:
  optimizer: { kind: adam, lr: 0.01 }
  batchSize: 32
  budget: { steps: 20 }
  evalEvery: 10
  logEvery: 5
sweep:
  parameters:
    model.width: [4, 8]
`;
const TYPO_SPEC = GOOD_SPEC.replace("  width: 8", "  widht: 8");
const THREE_WIDTHS_SPEC = GOOD_SPEC.replace("model.width: [4, 8]", "model.width: [4, 8, 16]");

const editorContent = (page: Page) => page.locator(".cm-content");

/** Replaces the editor's text the way a person would: select all, then type (inserted as one input). */
async function replaceSpec(page: Page, text: string) {
  const content = editorContent(page);
  await content.click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.press("Delete");
  await expect(content).toHaveText("");
  await page.keyboard.insertText(text);
  await expect(content).toContainText(text.split("\n")[1] ?? "");
}

const COMPLETION_INTERACTION_DELAY_MS = 75;

/**
 * CodeMirror ignores Enter for 75 ms after the completion list opens (its interactionDelay, read from
 * Date.now), so a fast Enter is not a misfire. The page's clock is moved past it instead of sleeping.
 */
async function acceptCompletion(page: Page) {
  await page.clock.fastForward(COMPLETION_INTERACTION_DELAY_MS + 1);
  await page.keyboard.press("Enter");
}

test("write a spec with a typo, fix it, plan, apply, and apply again with nothing new", async ({ page }, testInfo) => {
  await page.goto("/editor");
  await expect(page).toHaveTitle("Spec editor · Scaleboard");
  await expect(page.getByRole("heading", { level: 1, name: "New experiment" })).toBeVisible();
  // The starter spec is the MLP width example, and it is valid: 7 widths x 3 seeds.
  await expect(editorContent(page)).toContainText("experiment: mlp-width");
  await expect(page.getByTestId("cell-count")).toHaveText("21 cells");

  await replaceSpec(page, TYPO_SPEC);
  const issues = page.getByTestId("spec-issues").getByTestId("spec-issue");
  await expect(issues).toHaveCount(1);
  await expect(issues.first()).toHaveText('8:3 model.widht: unknown key "widht"; did you mean "width"?');
  await expect(page.getByTestId("cell-count")).toHaveCount(0);
  // The same issue is a lint diagnostic on the misspelt key.
  await expect(page.locator(".cm-lintRange-error")).toHaveText("widht");

  await replaceSpec(page, GOOD_SPEC);
  await expect(page.getByTestId("cell-count")).toHaveText("2 cells");
  await expect(page.getByTestId("spec-issues")).toHaveCount(0);
  await expect(page.locator(".cm-lintRange-error")).toHaveCount(0);

  const applyButton = page.getByRole("button", { name: "Apply", exact: true });
  await expect(applyButton).toBeDisabled();
  await page.getByRole("button", { name: "Plan", exact: true }).click();
  const plan = page.getByTestId("plan");
  await expect(plan.getByTestId("plan-create-count")).toHaveText("2");
  await expect(plan.getByTestId("plan-unchanged-count")).toHaveText("0");
  await expect(plan.getByTestId("plan-retry-count")).toHaveText("0");
  await expect(plan.getByTestId("plan-remove-count")).toHaveText("0");
  const rows = plan.getByTestId("plan-create-table").locator("tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText("model.width=4");
  await expect(plan.getByTestId("plan-totals")).toContainText("Total: 2 new of 2 cells");
  await expect(plan).toContainText("Editor e2e (new)");
  await page.screenshot({ path: path.join(testInfo.project.outputDir, "spec-editor-plan.png"), fullPage: true });

  await expect(page.getByRole("checkbox", { name: "Retry failed runs" })).not.toBeChecked();
  await expect(page.getByRole("checkbox", { name: "Prune removed runs (cancel queued ones)" })).not.toBeChecked();
  await expect(applyButton).toBeEnabled();
  await applyButton.click();
  await expect(page.getByTestId("apply-result")).toContainText("Applied: 2 runs queued, version 1");

  await page.getByRole("button", { name: "Plan", exact: true }).click();
  await expect(plan.getByTestId("plan-create-count")).toHaveText("0");
  await expect(plan.getByTestId("plan-nothing-new")).toBeVisible();
  await expect(plan).toContainText("same text as version 1");

  // Applying the same text again queues nothing and keeps version 1.
  await applyButton.click();
  await expect(page.getByTestId("apply-result")).toContainText("Applied: 0 runs queued, version 1");

  // Editing the text makes the plan stale: Apply waits for a new plan.
  await editorContent(page).click();
  await page.keyboard.press("ControlOrMeta+End");
  await page.keyboard.type("# a comment\n");
  await expect(applyButton).toBeDisabled();
  await expect(plan).toContainText("The spec changed since this plan was made");

  await page.getByTestId("apply-result").getByRole("link", { name: "Open the project" }).click();
  await expect(page).toHaveURL(/\/projects\/[^/]+$/);
  await expect(page.getByRole("heading", { level: 1, name: "Editor e2e" })).toBeVisible();
  const row = page.getByTestId("experiment-row");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("tiny-widths");
  await expect(row).toContainText("2 total");
  await expect(page.getByRole("link", { name: "New experiment" })).toHaveAttribute(
    "href",
    "/editor?project=Editor%20e2e",
  );

  // A project that does not exist (or is another team's) is a 404.
  expect((await page.request.get("/projects/no-such-project")).status()).toBe(404);

  // The home page's project card leads to the same page.
  await page.goto("/");
  await page.getByTestId("project-list").getByRole("link", { name: "Editor e2e" }).click();
  await expect(page).toHaveURL(/\/projects\/[^/]+$/);
  await expect(page.getByTestId("experiment-row")).toContainText("tiny-widths");
});

test("an experiment's spec opens in the editor, and a second version shows in the history diff", async ({ page }) => {
  // The first test applied version 1 of Editor e2e / tiny-widths on this server.
  await page.goto("/");
  await page.getByTestId("project-list").getByRole("link", { name: "Editor e2e" }).click();
  await page.getByRole("link", { name: "Edit spec of tiny-widths" }).click();
  await expect(page).toHaveURL(/\/editor\?experiment=/);
  await expect(page.getByRole("heading", { level: 1, name: "Edit spec: tiny-widths" })).toBeVisible();
  await expect(editorContent(page)).toContainText("model.width: [4, 8]");
  await expect(page.getByTestId("spec-versions").getByTestId("spec-version")).toHaveCount(1);
  await expect(page.getByTestId("cell-count")).toHaveText("2 cells");

  await replaceSpec(page, THREE_WIDTHS_SPEC);
  await expect(page.getByTestId("cell-count")).toHaveText("3 cells");
  await page.getByRole("button", { name: "Plan", exact: true }).click();
  await expect(page.getByTestId("plan").getByTestId("plan-create-count")).toHaveText("1");
  await expect(page.getByTestId("plan")).toContainText("spec changed since version 1");
  await page.getByRole("button", { name: "Apply", exact: true }).click();
  await expect(page.getByTestId("apply-result")).toContainText("Applied: 1 run queued, version 2");

  await expect(page.getByTestId("spec-versions").getByTestId("spec-version")).toHaveCount(2);
  const diff = page.getByTestId("spec-diff");
  await expect(diff.locator('[data-diff="removed"]')).toHaveText(["-    model.width: [4, 8]"]);
  await expect(diff.locator('[data-diff="added"]')).toHaveText(["+    model.width: [4, 8, 16]"]);

  // An old version loads back into the editor.
  await page.getByRole("button", { name: "Load v1 into editor" }).click();
  await expect(editorContent(page)).toContainText("model.width: [4, 8]");
  await expect(editorContent(page)).not.toContainText("[4, 8, 16]");
  await expect(page.getByTestId("cell-count")).toHaveText("2 cells");
});

test("the editor completes spec keys and values from the schema (in dark mode)", async ({ page }, testInfo) => {
  await page.emulateMedia({ colorScheme: "dark" });
  // A clock the test moves (acceptCompletion); it otherwise runs as usual.
  await page.clock.install();
  await page.goto("/editor");
  await expect(page.locator("html")).toHaveClass(/\bdark\b/);
  await expect(page.getByTestId("cell-count")).toHaveText("21 cells");
  await replaceSpec(page, "project: Completion\nexperiment: keys\nmodel:\n  family: mlp\n");
  await page.keyboard.press("ControlOrMeta+End");
  await page.keyboard.type("  wid");
  const completions = page.locator(".cm-tooltip-autocomplete .cm-completionLabel");
  await expect(completions.filter({ hasText: /^width$/ })).toBeVisible();
  await acceptCompletion(page);
  await expect(editorContent(page)).toContainText("  width: ");

  await page.keyboard.insertText("64\n  activation: ");
  await page.keyboard.press("Control+Space");
  await expect(completions).toHaveText(["relu", "gelu", "tanh", "sigmoid", "linear"]);
  await page.screenshot({ path: path.join(testInfo.project.outputDir, "spec-editor-completion-dark.png") });
  await acceptCompletion(page);
  await expect(editorContent(page)).toContainText("  activation: relu");

  // Without dataset and training the spec is not valid yet: the issues say so.
  await expect(page.getByTestId("spec-issues").getByTestId("spec-issue").first()).toContainText("dataset");
});
