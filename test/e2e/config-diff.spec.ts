import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type APIRequestContext, expect, type Page, test, type TestInfo } from "@playwright/test";
import YAML from "yaml";
import { applyOnE2eServer, failOnBrowserErrors, trpc } from "./support.ts";

/**
 * Compare explains what differs between runs of different model families: the shipped linear
 * regression on a CSV against a (shrunk) MLP from the width example. "What differs" reads their
 * whole resolved configs, so the model family, the dataset and the optimizer are listed, not only the
 * swept keys; the keys they share are folded away until asked for. In a team of its own.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const PROJECT = "Config diff e2e";

failOnBrowserErrors();

const example = (name: string) =>
  YAML.parse(readFileSync(path.join(ROOT, "examples", name), "utf8")) as Record<string, Record<string, unknown>>;

test("compare lists the model family, dataset and optimizer of a linear regression against an MLP, shared keys folded", async ({
  page,
  request,
  baseURL,
}, testInfo) => {
  test.setTimeout(180_000);
  const base = baseURL!;
  const teamId = (await trpc<{ id: string }>(request, base, "team.create", { name: PROJECT })).id;
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: base }]);

  const dir = mkdtempSync(path.join(os.tmpdir(), "scaleboard-config-diff-"));
  try {
    // The linear regression as shipped (its CSV beside it), and one small MLP cell of the width example.
    copyFileSync(path.join(ROOT, "examples/data/linear-regression.csv"), path.join(dir, "linear-regression.csv"));
    const linear = example("linear-regression.yaml");
    writeFileSync(
      path.join(dir, "linear.yaml"),
      YAML.stringify({
        ...linear,
        project: PROJECT,
        dataset: { ...linear.dataset, path: "linear-regression.csv" },
        training: { ...linear.training, budget: { steps: 50 } },
      }),
    );
    const mlp = example("mlp-width-scaling.yaml");
    writeFileSync(
      path.join(dir, "mlp.yaml"),
      YAML.stringify({
        ...mlp,
        project: PROJECT,
        dataset: { ...mlp.dataset, hidden: 16, samples: 1024 },
        model: { ...mlp.model, depth: 1, width: 8 },
        training: { ...mlp.training, batchSize: 256, budget: { steps: 40 }, evalEvery: 20 },
        sweep: undefined,
      }),
    );
    for (const file of ["linear.yaml", "mlp.yaml"])
      expect((await applyOnE2eServer(path.join(dir, file), teamId)).stdout).toContain("Applied: 1 new run(s) queued");
    await compareConfigs(page, request, base, teamId, testInfo);
  } finally {
    // After the page: the worker reads the CSV when it trains the linear regression.
    rmSync(dir, { recursive: true, force: true });
  }
});

async function compareConfigs(
  page: Page,
  request: APIRequestContext,
  baseURL: string,
  teamId: string,
  testInfo: TestInfo,
) {
  const projects = await trpc<{ items: { id: string; name: string }[] }>(request, baseURL, "project.list", { teamId });
  const projectId = projects.items.find((project) => project.name === PROJECT)!.id;
  const experiments = await trpc<{ id: string; name: string }[]>(request, baseURL, "experiment.list", { projectId });
  const runIdOf = async (experiment: string) => {
    const experimentId = experiments.find((candidate) => candidate.name === experiment)!.id;
    const runs = await trpc<{ items: { id: string }[] }>(request, baseURL, "run.list", { experimentId });
    return runs.items[0]!.id;
  };
  const runIds = [await runIdOf("linear-regression"), await runIdOf("mlp-width")];

  await page.goto(`/compare?runs=${runIds.join(",")}`);
  const diff = page.getByTestId("config-diff");
  const row = (key: string) => diff.locator(`[data-testid="config-diff-row"][data-key="${key}"]`);
  // Runs as columns in the order compared: the linear regression, then the MLP. The diff loads after
  // the curves have drawn (see compare-view.tsx), on two shared cores a while after the page.
  await expect(row("model.family")).toContainText(/linear\s*mlp/, { timeout: 60_000 });
  await expect(row("dataset.kind")).toContainText(/csv\s*teacher/);
  await expect(row("training.optimizer.kind")).toContainText(/gd\s*adam/);
  await expect(row("training.optimizer.lr")).toContainText(/0\.01\s*0\.003/);
  // A key only the MLP has: the linear regression's cell is a dash (absent), not "null".
  await expect(row("model.width")).toContainText("—");
  await expect(row("model.width")).toContainText("8");
  await expect(row("training.schedule.kind")).toContainText("cosine");

  // The keys both share are folded under one line, their rows hidden until it is opened.
  const same = diff.getByTestId("config-diff-same");
  await expect(same.locator("summary")).toHaveText(/^\d+ keys? the same in every run$/);
  await expect(same).not.toHaveAttribute("open");
  await expect(same.getByTestId("config-diff-same-row").first()).toBeHidden();
  await diff.scrollIntoViewIfNeeded();
  await page.screenshot({ path: testInfo.outputPath("config-diff-folded.png"), fullPage: true });
  await same.locator("summary").click();
  await expect(same.getByTestId("config-diff-same-row").first()).toBeVisible();
  // Both log every 10 steps: a shared key, listed once with its value.
  await expect(same.getByTestId("config-diff-same-row").filter({ hasText: "training.logEvery" })).toContainText("10");
  await diff.screenshot({ path: testInfo.outputPath("config-diff-open.png") });
}
