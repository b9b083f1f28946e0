"use client";

import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import Link from "next/link";
import { startTransition, Suspense, useCallback, useMemo, useState } from "react";
import { CurvesPanel, MAX_CHART_RUNS, type ChartRun } from "../_components/charts/curves-panel.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric } from "../_components/charts/format.ts";
import { LiveBadge } from "../_components/charts/live-badge.tsx";
import { useLiveUpdates } from "../_components/charts/live-updates.ts";
import { readList, useUrlState } from "../_components/charts/url-state.ts";
import { ChartSkeleton } from "../_components/charts/chart-frame.tsx";
import { EmptyState } from "../_components/empty-state.tsx";
import type { RunsTableRow } from "../_components/runs-table.tsx";
import { StatusBadge } from "../_components/runs-table-status.tsx";
import { ErrorMessage } from "../_components/ui.tsx";
import { useTRPC } from "../_trpc/react.tsx";

// What the first view does not need loads after it: the page hydrates with the curves' code only.
const ScalingPanel = dynamic(() => import("../_components/scaling-panel.tsx").then((module) => module.ScalingPanel), {
  ssr: false,
  loading: () => <ChartSkeleton height={420} label="Loading the scaling panel" />,
});
const ConfigDiff = dynamic(() => import("../_components/config-diff.tsx").then((module) => module.ConfigDiff), { ssr: false });

export function CompareView() {
  return (
    <Suspense fallback={<div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />}>
      <CompareViewInner />
    </Suspense>
  );
}

function CompareViewInner() {
  const trpc = useTRPC();
  const { params } = useUrlState();
  const runIds = useMemo(() => [...new Set(readList(params, "runs"))].slice(0, 500), [params]);
  const from = params.get("from");

  // The runs' rows (names, params, status, sizes) wherever their experiments are.
  const table = useQuery(trpc.runsTable.list.queryOptions(runIds.length ? { filter: { runIds }, limit: 500 } : skipToken, { placeholderData: keepPreviousData }));
  const rowsById = useMemo(() => new Map<string, RunsTableRow>((table.data?.rows ?? []).map((row) => [row.id, row])), [table.data]);
  const chartRuns = useMemo(
    (): ChartRun[] =>
      runIds.slice(0, MAX_CHART_RUNS).map((id) => {
        const row = rowsById.get(id);
        return { id, name: row?.name ?? id, params: row?.params ?? {} };
      }),
    [runIds, rowsById],
  );
  const paramKeys = useMemo(() => [...new Set(chartRuns.flatMap((run) => Object.keys(run.params)))].sort(), [chartRuns]);

  // The scaling fit is asked for once the curves are in (see ScalingPanel's hold).
  const [curvesDrawn, setCurvesDrawn] = useState(false);
  // After the frame that shows the curves, as a transition: mounting the panels below them (a long
  // task of layout) neither delays that frame nor blocks input for long.
  const curvesSettled = useCallback(() => requestAnimationFrame(() => setTimeout(() => startTransition(() => setCurvesDrawn(true)))), []);

  const active = [...rowsById.values()].some((row) => row.status === "queued" || row.status === "running");
  const live = useLiveUpdates({ runIds, active });
  const keys = useQuery(trpc.metrics.keys.queryOptions(runIds.length ? { runIds: runIds.slice(0, 200) } : skipToken, { placeholderData: keepPreviousData }));

  if (runIds.length === 0) {
    return (
      <EmptyState title="No runs to compare" testId="compare-empty">
        <p>Select runs in an experiment&apos;s table and press Compare; the link lists them as /compare?runs=id1,id2.</p>
        <Link href="/" className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
          Go to the projects
        </Link>
      </EmptyState>
    );
  }
  // The charts do not wait for the rows: names fill in when they come.
  if (table.isError && !table.data) return <ErrorMessage>Could not load these runs: {table.error.message}</ErrorMessage>;

  return (
    <div className="space-y-6">
      <header className="space-y-2">
        <nav aria-label="Breadcrumb" className="text-sm">
          <Link href={from ? `/experiments/${from}` : "/"} className="rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400">
            {from ? "← Back to the experiment" : "Projects"}
          </Link>
        </nav>
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-semibold tracking-tight">
            Compare {runIds.length} run{runIds.length === 1 ? "" : "s"}
          </h1>
          <LiveBadge mode={live.mode} />
        </div>
      </header>

      <section aria-label="Runs compared" aria-busy={table.isPending} className="overflow-x-auto rounded-xl border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <table className="w-full text-left text-sm" data-testid="compare-runs">
          <thead className="border-b border-slate-200 text-xs uppercase text-slate-500 dark:border-slate-800 dark:text-slate-400">
            <tr>
              <th scope="col" className="px-3 py-2">Run</th>
              <th scope="col" className="px-3 py-2">Status</th>
              <th scope="col" className="px-3 py-2 text-right">Params</th>
              <th scope="col" className="px-3 py-2 text-right">FLOPs</th>
              <th scope="col" className="px-3 py-2 text-right">Wall-clock</th>
              <th scope="col" className="px-3 py-2 text-right">Final val/loss</th>
              <th scope="col" className="px-3 py-2 text-right">Best val/loss</th>
            </tr>
          </thead>
          <tbody>
            {chartRuns.map((run) => {
              const row = rowsById.get(run.id);
              return (
                <tr key={run.id} data-testid="compare-run" className="border-b border-slate-100 last:border-0 dark:border-slate-800">
                  <td className="px-3 py-1.5">
                    {/* No prefetch: a hundred run pages rendered ahead would compete with the curves for the server. */}
                    <Link href={`/runs/${run.id}`} prefetch={false} className="rounded font-medium text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300">
                      {run.name}
                    </Link>
                  </td>
                  <td className="px-3 py-1.5">{row ? <StatusBadge status={row.status} /> : "—"}</td>
                  <td className="px-3 py-1.5 text-right tabular-nums">{formatCount(row?.paramCount)}</td>
                  <td className="px-3 py-1.5 text-right tabular-nums">{formatFlops(row?.totalFlops)}</td>
                  <td className="px-3 py-1.5 text-right tabular-nums">{formatDuration(row?.wallClockSeconds)}</td>
                  <td className="px-3 py-1.5 text-right tabular-nums">{formatMetric(row?.finalMetric)}</td>
                  <td className="px-3 py-1.5 text-right tabular-nums">{formatMetric(row?.bestMetric)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>

      <div className="grid gap-4 xl:grid-cols-2">
        <CurvesPanel runs={chartRuns} paramKeys={paramKeys} defaults={{ metric: "val/loss", x: "step" }} onSettled={curvesSettled} />
        <ScalingPanel hold={!curvesDrawn} source={{ runIds }} metricOptions={keys.data?.keys.map((entry) => entry.key) ?? []} revision={[...rowsById.values()].filter((row) => row.status === "succeeded").length} />
      </div>
      {/* After the curves: its run links prefetch their pages when shown. */}
      {curvesDrawn ? (
        <ConfigDiff
          runs={chartRuns.map((run) => ({ id: run.id, name: run.name, values: run.params }))}
          note="Swept parameters of each run (the values its sweep cell set). Settings every cell shares are in the spec."
        />
      ) : null}
    </div>
  );
}
