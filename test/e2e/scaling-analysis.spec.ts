import { type APIRequestContext, expect, test } from "@playwright/test";
import { failOnBrowserErrors, trpc } from "./support.ts";

/**
 * The compute-optimal analysis draws its IsoFLOP profiles: runs logged over /api/v1 at three FLOP
 * budgets, five sizes each (tokens = C / 6N, a Chinchilla-shaped loss), plus one run without a
 * parameter count, which the page lists as left out of the fit with the analysis' reason.
 */

failOnBrowserErrors();

const BUDGETS = [1e15, 1e16, 1e17];
/** Sizes around each budget's valley, as factors of its optimum. */
const FACTORS = [1 / 4, 1 / 2, 1, 2, 4];

function loss(params: number, tokens: number): number {
  return 1.69 + 406.4 / params ** 0.34 + 410.7 / tokens ** 0.28;
}

/** The size with the least loss at C = 6 N D, on a fine grid in ln N. */
function optimum(flops: number): number {
  let best = 1e5;
  for (let x = Math.log(1e5); x < Math.log(1e10); x += 0.01) {
    const params = Math.exp(x);
    if (loss(params, flops / (6 * params)) < loss(best, flops / (6 * best))) best = params;
  }
  return best;
}

async function logRun(
  request: APIRequestContext,
  headers: Record<string, string>,
  run: { name: string; params: number | null; tokens: number; flops: number; loss: number },
): Promise<string> {
  const created = await request.post("/api/v1/runs", {
    headers,
    data: {
      project: "IsoFLOP e2e",
      experiment: "isoflop",
      name: run.name,
      config: { params: { "training.isoflopBudget": run.flops } },
    },
  });
  expect(created.status()).toBe(201);
  const { runId, experimentId } = (await created.json()) as { runId: string; experimentId: string };
  const summary = await request.post(`/api/v1/runs/${runId}/summary`, {
    headers,
    data: {
      ...(run.params === null ? {} : { paramCount: run.params }),
      totalFlops: run.flops,
      summary: { tokens: run.tokens, flops: run.flops },
    },
  });
  expect(summary.status(), await summary.text()).toBe(200);
  const points = [{ key: "val/loss", step: 100, value: run.loss }];
  expect((await request.post(`/api/v1/runs/${runId}/points`, { headers, data: { points } })).status()).toBe(200);
  const finished = await request.post(`/api/v1/runs/${runId}/finish`, { headers, data: { status: "succeeded" } });
  expect(finished.status()).toBe(200);
  return experimentId;
}

test("the scaling view draws an IsoFLOP profile per budget and lists the runs left out of the fit", async ({
  page,
  request,
  baseURL,
}) => {
  test.setTimeout(180_000);
  const teamId = (await trpc<{ id: string }>(request, baseURL!, "team.create", { name: "IsoFLOP e2e" })).id;
  await page.context().addCookies([{ name: "scaleboard-team", value: teamId, url: baseURL! }]);
  const { key } = await trpc<{ key: string }>(request, baseURL!, "apiKey.create", {
    teamId,
    name: "isoflop",
    scope: "ingest",
  });
  const headers = { authorization: `Bearer ${key}` };
  let experimentId = "";
  for (const flops of BUDGETS) {
    const best = optimum(flops);
    for (const factor of FACTORS) {
      const params = Math.round(best * factor);
      const tokens = flops / (6 * params);
      experimentId = await logRun(request, headers, {
        name: `C=${flops.toExponential(0)} N=${params}`,
        params,
        tokens,
        flops,
        loss: loss(params, tokens),
      });
    }
  }
  await logRun(request, headers, { name: "unsized run", params: null, tokens: 1e9, flops: 1e16, loss: 3 });

  await page.goto(`/experiments/${experimentId}`);
  const chart = page.getByTestId("isoflop-chart");
  await expect(chart.locator("canvas")).toBeVisible({ timeout: 60_000 });
  const legend = chart.getByTestId("isoflop-legend");
  // The runs, a parabola and an optimum per budget, each named in the legend.
  await expect(legend.locator("li")).toHaveCount(9);
  await expect(legend.locator("li", { hasText: "runs" })).toHaveCount(3);
  await expect(legend.locator("li", { hasText: "parabola" })).toHaveCount(3);
  await expect(legend.locator("li", { hasText: "optimum" })).toHaveCount(3);
  // 1e15 may read as 1000T: the budget is the runs' FLOPs, which floating point leaves a hair under 1P.
  for (const budget of ["(1P|1000T)", "10P", "100P"])
    for (const series of ["runs", "parabola", "optimum"])
      await expect(legend.getByText(new RegExp(`^${budget} ${series}$`))).toBeVisible();
  await expect(page.getByTestId("excluded-runs")).toContainText("Not in the fit: unsized run — no paramCount");
});
