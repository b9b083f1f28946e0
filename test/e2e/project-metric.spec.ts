import { expect, test } from "@playwright/test";
import { failOnBrowserErrors, trpc } from "./support.ts";

/**
 * A project whose runs log `val_loss` (runs from Python, MLflow or HTTP have no spec): an editor sets
 * the project's metric on the project page, and the run page's summary and compare then lead with it.
 */

failOnBrowserErrors();

test("an editor sets the project's metric and the run page and compare lead with it", async ({
  page,
  request,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const project = "Keras metric e2e";
  const teamId = (await trpc<{ id: string }>(request, baseURL!, "team.create", { name: project })).id;
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL! }]);
  const { key } = await trpc<{ key: string }>(request, baseURL!, "apiKey.create", {
    teamId,
    name: "keras",
    scope: "ingest",
  });
  const headers = { authorization: `Bearer ${key}` };
  const runIds: string[] = [];
  let experimentId = "";
  for (const width of [32, 64]) {
    const created = await request.post("/api/v1/runs", {
      headers,
      data: { project, experiment: "widths", name: `width=${width}`, config: { width } },
    });
    expect(created.status()).toBe(201);
    const run = (await created.json()) as { runId: string; experimentId: string };
    const runId = run.runId;
    experimentId = run.experimentId;
    runIds.push(runId);
    const points = [0, 1, 2].flatMap((step) => [
      { key: "val_loss", step, value: 1 / width + 0.5 / (step + 1) },
      { key: "train_loss", step, value: 1 / width + 0.4 / (step + 1) },
    ]);
    expect((await request.post(`/api/v1/runs/${runId}/points`, { headers, data: { points } })).status()).toBe(200);
    expect(
      (await request.post(`/api/v1/runs/${runId}/finish`, { headers, data: { status: "succeeded" } })).status(),
    ).toBe(200);
  }
  const projects = await trpc<{ items: { id: string; name: string }[] }>(request, baseURL!, "project.list", { teamId });
  const projectId = projects.items.find((item) => item.name === project)!.id;

  await page.goto(`/projects/${projectId}`);
  const metric = page.getByTestId("project-metric");
  await expect(metric).toHaveText("val/loss, lower is better (default)");
  await metric.click();
  await page.getByTestId("project-metric-name").fill("val_loss");
  await page.getByTestId("project-metric-save").click();
  await expect(metric).toHaveText("val_loss, lower is better");

  await page.goto(`/runs/${runIds[0]}`);
  const summary = page.getByTestId("run-summary");
  await expect(summary.getByText("Final val_loss")).toBeVisible();
  await expect(summary.getByText("Best val_loss")).toBeVisible();
  await expect(summary).toContainText((1 / 32 + 0.5 / 3).toFixed(3));

  await page.goto(`/compare?runs=${runIds.join(",")}`);
  await expect(page.getByTestId("compare-runs").getByText("Final val_loss")).toBeVisible();

  // The runs table leads with it too, and its picker offers the keys the runs logged.
  await page.goto(`/experiments/${experimentId}`);
  const table = page.getByTestId("runs-table");
  await expect(table.getByText("Final val_loss")).toBeVisible();
  const picker = page.getByTestId("runs-table-metric");
  await expect(picker.locator("option")).toHaveText(["val_loss", "train_loss"]);
  await picker.selectOption("train_loss");
  await expect(table.getByText("Final train_loss")).toBeVisible();
});
