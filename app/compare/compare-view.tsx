"use client";

import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { Suspense, useMemo } from "react";
import { CurvesPanel, MAX_CHART_RUNS, type ChartRun } from "../_components/charts/curves-panel.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric } from "../_components/charts/format.ts";
import { LiveBadge } from "../_components/charts/live-badge.tsx";
import { useLiveUpdates } from "../_components/charts/live-updates.ts";
import { readList, useUrlState } from "../_components/charts/url-state.ts";
import { ConfigDiff } from "../_components/config-diff.tsx";
import { EmptyState } from "../_components/empty-state.tsx";
import { StatusBadge, type RunsTableRow } from "../_components/runs-table.tsx";
import { ScalingPanel } from "../_components/scaling-panel.tsx";
import { useTRPC } from "../_trpc/react.tsx";

export function CompareView() {
  return (
    <Suspense fallback={<div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />}>
      <CompareViewInner />
    </Suspense>
  );
}

/** The experiments runsTable.list accepts at once. */
const MAX_EXPERIMENTS = 20;

function CompareViewInner() {
  const trpc = useTRPC();
  const { params } = useUrlState();
  const runIds = useMemo(() => [...new Set(readList(params, "runs"))].slice(0, 500), [params]);
  const from = params.get("from");

  // Which experiments the runs belong to: the linking page says so, and the scaling view names the
  // experiment of every finished run. Rows (names, params, status) then come from those experiments' tables.
  const located = useQuery(trpc.scaling.compare.queryOptions(runIds.length ? { runIds, resamples: 0 } : skipToken, { placeholderData: keepPreviousData }));
  const experimentIds = useMemo(() => {
    const ids = new Set<string>(from ? [from] : []);
    for (const run of located.data?.runs ?? []) ids.add(run.experimentId);
    return [...ids].slice(0, MAX_EXPERIMENTS);
  }, [from, located.data]);
  const table = useQuery(
    trpc.runsTable.list.queryOptions(experimentIds.length ? { experimentIds, limit: 500 } : skipToken, { placeholderData: keepPreviousData }),
  );

  const rowsById = useMemo(() => new Map<string, RunsTableRow>((table.data?.rows ?? []).filter((row) => runIds.includes(row.id)).map((row) => [row.id, row])), [table.data, runIds]);
  const chartRuns = useMemo((): ChartRun[] => {
    const names = new Map<string, string>();
    for (const run of located.data?.runs ?? []) names.set(run.id, run.name);
    for (const skip of located.data?.skipped ?? []) names.set(skip.runId, skip.name);
    const scalingParams = new Map((located.data?.runs ?? []).map((run) => [run.id, run.params]));
    return runIds.slice(0, MAX_CHART_RUNS).map((id) => {
      const row = rowsById.get(id);
      return { id, name: row?.name ?? names.get(id) ?? id, params: row?.params ?? scalingParams.get(id) ?? {} };
    });
  }, [runIds, rowsById, located.data]);
  const paramKeys = useMemo(() => [...new Set(chartRuns.flatMap((run) => Object.keys(run.params)))].sort(), [chartRuns]);

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
  if (located.isError) {
    return (
      <p role="alert" className="rounded-xl border border-red-300 bg-red-50 p-4 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
        Could not load these runs: {located.error.message}
      </p>
    );
  }

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

      <section aria-label="Runs compared" className="overflow-x-auto rounded-xl border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
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
                    <Link href={`/runs/${run.id}`} className="rounded font-medium text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300">
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
        <CurvesPanel runs={chartRuns} paramKeys={paramKeys} defaults={{ metric: "val/loss", x: "step" }} />
        <ScalingPanel source={{ runIds }} metricOptions={keys.data?.keys.map((entry) => entry.key) ?? []} revision={[...rowsById.values()].filter((row) => row.status === "succeeded").length} />
      </div>
      <ConfigDiff
        runs={chartRuns.map((run) => ({ id: run.id, name: run.name, values: run.params }))}
        note="Swept parameters of each run (the values its sweep cell set). Settings every cell shares are in the spec."
      />
    </div>
  );
}
