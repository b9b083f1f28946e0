"use client";

import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import Link from "next/link";
import { startTransition, useCallback, useMemo, useState } from "react";
import { CurvesPanel, MAX_CHART_RUNS, type ChartRun, type CurvesView } from "../_features/charts/curves-panel.tsx";
import { AddToReport } from "../_features/reports/add-to-report.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric } from "../_features/charts/format.ts";
import { LiveBadge } from "../_features/charts/live-badge.tsx";
import { useLiveUpdates } from "../_features/charts/live-updates.ts";
import { readList, useUrlState } from "../_features/charts/url-state.ts";
import { ChartSkeleton } from "../_features/charts/chart-frame.tsx";
import { DataCell, DataRow, DataTable } from "../_ui/data-table.tsx";
import { EmptyState } from "../_ui/empty-state.tsx";
import type { RunsTableRow } from "../_features/runs/runs-table.tsx";
import { StatusBadge } from "../_features/runs/runs-table-status.tsx";
import { ErrorMessage } from "../_ui/ui.tsx";
import { useTRPC } from "../_trpc/react.tsx";
import { DEFAULT_METRIC } from "~/server/domain/project/default-metric.ts";

// What the first view does not need loads after it: the page hydrates with the curves' code only.
const ScalingPanel = dynamic(
  () => import("../_features/scaling/scaling-panel.tsx").then((module) => module.ScalingPanel),
  {
    ssr: false,
    loading: () => <ChartSkeleton height={420} label="Loading the scaling panel" />,
  },
);
const ConfigDiff = dynamic(() => import("../_features/runs/config-diff.tsx").then((module) => module.ConfigDiff), {
  ssr: false,
});

const compareColumns = (metric: string) => [
  { label: "Run" },
  { label: "Status" },
  { label: "Params", numeric: true },
  { label: "FLOPs", numeric: true },
  { label: "Wall-clock", numeric: true },
  { label: `Final ${metric}`, numeric: true },
  { label: `Best ${metric}`, numeric: true },
];

/**
 * `earlyScript`: the early chart's script (early-curves/), which draws the preloaded curves while the
 * page hydrates. No Suspense boundary around the view: the page is rendered per request (nothing for
 * useSearchParams to bail out of), and a boundary would stream the view after the shell, hidden until
 * React reveals it on a later animation frame, and the early chart with it.
 */
export function CompareView({ earlyScript }: { earlyScript: string | null }) {
  return <CompareViewInner earlyScript={earlyScript} />;
}

function CompareViewInner({ earlyScript }: { earlyScript: string | null }) {
  const trpc = useTRPC();
  const { params } = useUrlState();
  const runIds = useMemo(() => [...new Set(readList(params, "runs"))].slice(0, 500), [params]);
  const from = params.get("from");

  // The runs' rows (names, params, status, sizes) wherever their experiments are.
  const table = useQuery(
    trpc.runsTable.list.queryOptions(runIds.length ? { filter: { runIds }, limit: 500 } : skipToken, {
      placeholderData: keepPreviousData,
    }),
  );
  // The runs' metric (the first run's spec's, else its project's, else val/loss), as the table resolved it.
  const metric = table.data?.metric.name ?? DEFAULT_METRIC.name;
  const rowsById = useMemo(
    () => new Map<string, RunsTableRow>((table.data?.rows ?? []).map((row) => [row.id, row])),
    [table.data],
  );
  const chartRuns = useMemo(
    (): ChartRun[] =>
      runIds.slice(0, MAX_CHART_RUNS).map((id) => {
        const row = rowsById.get(id);
        return { id, name: row?.name ?? id, params: row?.params ?? {} };
      }),
    [runIds, rowsById],
  );
  const paramKeys = useMemo(
    () => [...new Set(chartRuns.flatMap((run) => Object.keys(run.params)))].sort(),
    [chartRuns],
  );

  // The chart as drawn: "Add to report" makes it a report's panel.
  const [chartView, setChartView] = useState<CurvesView | null>(null);
  // The scaling fit is asked for once the curves are in (see ScalingPanel's hold).
  const [curvesDrawn, setCurvesDrawn] = useState(false);
  // After the frame that shows the curves, as a transition: mounting the panels below them (a long
  // task of layout) neither delays that frame nor blocks input for long.
  const curvesSettled = useCallback(
    () => requestAnimationFrame(() => setTimeout(() => startTransition(() => setCurvesDrawn(true)))),
    [],
  );

  const active = [...rowsById.values()].some((row) => row.status === "queued" || row.status === "running");
  const live = useLiveUpdates({ runIds, active });
  const keys = useQuery(
    trpc.metrics.keys.queryOptions(runIds.length ? { runIds: runIds.slice(0, 200) } : skipToken, {
      placeholderData: keepPreviousData,
    }),
  );

  if (runIds.length === 0) {
    return (
      <EmptyState title="No runs to compare" testId="compare-empty">
        <p>
          Select runs in an experiment&apos;s table and press Compare; the link lists them as /compare?runs=id1,id2.
        </p>
        <Link href="/" className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
          Go to the projects
        </Link>
      </EmptyState>
    );
  }
  // The charts do not wait for the rows: names fill in when they come.
  if (table.isError && !table.data)
    return <ErrorMessage>Could not load these runs: {table.error.message}</ErrorMessage>;

  return (
    <div className="space-y-6">
      <header className="space-y-2">
        <nav aria-label="Breadcrumb" className="text-sm">
          <Link
            href={from ? `/experiments/${from}` : "/"}
            className="rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400"
          >
            {from ? "← Back to the experiment" : "Projects"}
          </Link>
        </nav>
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-semibold tracking-tight">
            Compare {runIds.length} run{runIds.length === 1 ? "" : "s"}
          </h1>
          <LiveBadge mode={live.mode} />
        </div>
        <AddToReport runIds={runIds} chart={chartView} />
      </header>

      <div className="grid gap-4 xl:grid-cols-2">
        <CurvesPanel
          runs={chartRuns}
          paramKeys={paramKeys}
          defaults={{ metric, x: "step" }}
          onSettled={curvesSettled}
          onViewChange={setChartView}
          earlyScript={earlyScript}
        />
        <ScalingPanel
          hold={!curvesDrawn}
          source={{ runIds }}
          defaults={{ metric }}
          metricOptions={keys.data?.keys.map((entry) => entry.key) ?? []}
          revision={[...rowsById.values()].filter((row) => row.status === "succeeded").length}
        />
      </div>

      {/* Below the charts, and laid out only when scrolled near: a hundred rows no longer delay the first frame. */}
      <div style={{ contentVisibility: "auto", containIntrinsicSize: "auto 1200px" }}>
        <DataTable
          columns={compareColumns(metric)}
          testId="compare-runs"
          region={{ label: "Runs compared", busy: table.isPending }}
        >
          {chartRuns.map((run) => {
            const row = rowsById.get(run.id);
            return (
              <DataRow key={run.id} testId="compare-run">
                <DataCell>
                  {/* No prefetch: a hundred run pages rendered ahead would compete with the curves for the server. */}
                  <Link
                    href={`/runs/${run.id}`}
                    prefetch={false}
                    className="rounded font-medium text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300"
                  >
                    {run.name}
                  </Link>
                </DataCell>
                <DataCell>{row ? <StatusBadge status={row.status} /> : "—"}</DataCell>
                <DataCell numeric>{formatCount(row?.paramCount)}</DataCell>
                <DataCell numeric>{formatFlops(row?.totalFlops)}</DataCell>
                <DataCell numeric>{formatDuration(row?.wallClockSeconds)}</DataCell>
                <DataCell numeric>{formatMetric(row?.finalMetric)}</DataCell>
                <DataCell numeric>{formatMetric(row?.bestMetric)}</DataCell>
              </DataRow>
            );
          })}
        </DataTable>
      </div>

      {/* After the curves: its run links prefetch their pages when shown. */}
      {curvesDrawn ? <ConfigDiff runs={chartRuns} /> : null}
    </div>
  );
}
