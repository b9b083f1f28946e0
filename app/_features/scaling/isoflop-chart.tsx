"use client";

import type { inferRouterOutputs } from "@trpc/server";
import dynamic from "next/dynamic";
import { useRef } from "react";
import type { AppRouter } from "~/server/api/root.ts";
import { ChartSkeleton } from "../charts/chart-frame.tsx";
import { seriesColor } from "../charts/chart-theme.ts";
import { useDarkMode } from "../charts/dark-mode.ts";
import { formatCount, formatFlops, formatMetric } from "../charts/format.ts";
import type { ChartController, PlotDataset } from "../charts/line-canvas.tsx";

const LineCanvas = dynamic(() => import("../charts/line-canvas.tsx"), {
  ssr: false,
  loading: () => <ChartSkeleton height={300} />,
});

type Analysis = inferRouterOutputs<AppRouter>["scaling"]["analysis"];
type Budget = NonNullable<Analysis["isoflop"]>["budgets"][number];

/** What a run of the scaling view brings to the IsoFLOP chart. */
export type BudgetRun = {
  id: string;
  params: Record<string, unknown>;
  paramCount: number | null;
  totalFlops: number | null;
  loss: number;
};

const PARABOLA_SAMPLES = 40;
/** As server/domain/scaling/fit-isoflop-profiles.ts: runs without a declared budget bin by FLOPs within this factor. */
const BIN_FACTOR = 1.15;

/** The runs of a budget, grouped as the analysis groups them: by declared budget, else by FLOPs near it. */
function budgetPoints(
  budget: Budget,
  runs: readonly BudgetRun[],
  excluded: ReadonlySet<string>,
): { x: number; y: number }[] {
  return runs.flatMap((run) => {
    if (excluded.has(run.id) || run.paramCount === null || !(run.paramCount > 0)) return [];
    const declared = run.params["training.isoflopBudget"];
    const inBudget =
      typeof declared === "number" && declared > 0
        ? declared === budget.flops
        : run.totalFlops !== null &&
          run.totalFlops >= budget.flops / BIN_FACTOR &&
          run.totalFlops <= budget.flops * BIN_FACTOR;
    return inBudget ? [{ x: run.paramCount, y: run.loss }] : [];
  });
}
/** More excluded runs than this are folded into a details element. */
const EXCLUDED_OPEN = 5;

function parabolaPoints(budget: Budget): { x: number; y: number }[] {
  const { parabola } = budget;
  if (!parabola || !(budget.minParams > 0) || !(budget.maxParams > budget.minParams)) return [];
  const low = Math.log(budget.minParams);
  const high = Math.log(budget.maxParams);
  return Array.from({ length: PARABOLA_SAMPLES + 1 }, (_, index) => {
    const x = low + ((high - low) * index) / PARABOLA_SAMPLES;
    return { x: Math.exp(x), y: parabola.c0 + parabola.c1 * x + parabola.c2 * x * x };
  });
}

/** One parabola in ln N per budget, drawn over the sizes trained at it, and its minimum marked. */
export function isoflopDatasets(
  budgets: readonly Budget[],
  runs: readonly BudgetRun[],
  excluded: ReadonlySet<string>,
  dark: boolean,
): PlotDataset[] {
  const datasets: PlotDataset[] = [];
  budgets.forEach((budget, index) => {
    const color = seriesColor(index, dark);
    const name = formatFlops(budget.flops);
    const points = budgetPoints(budget, runs, excluded);
    if (points.length > 0)
      datasets.push({
        key: `points:${budget.flops}`,
        role: "points",
        seriesId: `budget:${budget.flops}`,
        label: `${name} runs`,
        data: points,
        borderColor: color,
        backgroundColor: color,
        showLine: false,
        pointRadius: 3,
      });
    const curve = parabolaPoints(budget);
    if (curve.length > 0)
      datasets.push({
        key: `parabola:${budget.flops}`,
        role: "main",
        seriesId: `budget:${budget.flops}`,
        label: `${name} parabola`,
        data: curve,
        borderColor: color,
        borderWidth: 2,
        pointRadius: 0,
      });
    if (budget.optimumParams !== null && budget.optimumLoss !== null)
      datasets.push({
        key: `optimum:${budget.flops}`,
        role: "points",
        seriesId: `budget:${budget.flops}`,
        label: `${name} optimum`,
        data: [{ x: budget.optimumParams, y: budget.optimumLoss }],
        borderColor: color,
        backgroundColor: color,
        showLine: false,
        pointRadius: 6,
        pointStyle: "star",
      });
  });
  return datasets;
}

/**
 * The IsoFLOP profiles behind the valley estimate: loss against N (log axis) per FLOP budget, the
 * fitted parabola over the trained sizes and its optimum; then every run the analysis left out, with why.
 */
export function IsoflopChart({ analysis, runs }: { analysis: Analysis; runs: readonly BudgetRun[] }) {
  const dark = useDarkMode();
  const controller = useRef<ChartController | null>(null);
  const budgets = analysis.isoflop?.budgets ?? [];
  const excluded = analysis.runs.excluded;
  const datasets = isoflopDatasets(budgets, runs, new Set(excluded.map((run) => run.runId)), dark);
  const excludedItems = excluded.map((run) => (
    <li key={run.runId} data-testid="excluded-run">
      Not in the fit: {run.name} — {run.reason}
    </li>
  ));
  return (
    <div className="mt-3" data-testid="isoflop-section">
      <p className="font-medium">IsoFLOP profiles: {analysis.metric} against N at each FLOP budget</p>
      {datasets.length > 0 ? (
        <div data-testid="isoflop-chart">
          <LineCanvas
            datasets={datasets}
            dark={dark}
            logX
            logY={false}
            xTitle="parameters N"
            yTitle={analysis.metric}
            formatX={formatCount}
            formatY={formatMetric}
            xWindow={null}
            controller={controller}
            ariaLabel={`IsoFLOP profiles: ${budgets.length} budgets, a parabola in ln N each with its optimum`}
            height={300}
          />
          <ul
            className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-slate-600 dark:text-slate-400"
            data-testid="isoflop-legend"
          >
            {datasets.map((dataset) => (
              <li key={dataset.key} className="flex items-center gap-1.5">
                <span
                  aria-hidden="true"
                  className="inline-block w-5"
                  style={
                    dataset.role === "points" && String(dataset.label).endsWith("optimum")
                      ? { height: 8, width: 8, borderRadius: 4, background: String(dataset.borderColor) }
                      : { height: 0, borderTop: `2px solid ${String(dataset.borderColor)}` }
                  }
                />
                {String(dataset.label)}
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="mt-1 text-slate-600 dark:text-slate-400" data-testid="isoflop-empty">
          No IsoFLOP profile to draw: {budgets.length === 0 ? "no run carries a FLOP budget" : "no budget has 3 sizes"}.
        </p>
      )}
      {budgets.some((budget) => budget.reason) ? (
        <ul className="mt-1 list-disc pl-5 text-slate-600 dark:text-slate-400">
          {budgets
            .filter((budget) => budget.reason)
            .map((budget) => (
              <li key={budget.flops}>
                {formatFlops(budget.flops)}: {budget.reason}
              </li>
            ))}
        </ul>
      ) : null}
      {excluded.length > 0 ? (
        excluded.length > EXCLUDED_OPEN ? (
          <details className="mt-2" data-testid="excluded-runs">
            <summary>{excluded.length} runs not in the fit</summary>
            <ul className="list-disc pl-5">{excludedItems}</ul>
          </details>
        ) : (
          <ul className="mt-2 list-disc pl-5" data-testid="excluded-runs">
            {excludedItems}
          </ul>
        )
      ) : null}
    </div>
  );
}
