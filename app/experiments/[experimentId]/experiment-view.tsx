"use client";

import { keepPreviousData, skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { Suspense, useCallback, useMemo, useState } from "react";
import { ToggleButton } from "../../_components/charts/chart-frame.tsx";
import { CurvesPanel, MAX_CHART_RUNS, type ChartRun } from "../../_components/charts/curves-panel.tsx";
import { readList, useUrlState } from "../../_components/charts/url-state.ts";
import { LiveBadge } from "../../_components/charts/live-badge.tsx";
import { useLiveUpdates } from "../../_components/charts/live-updates.ts";
import { ConfigDiff } from "../../_components/config-diff.tsx";
import { EmptyState } from "../../_components/empty-state.tsx";
import { RunsTable, useRunsTableRows, type RunProgress } from "../../_components/runs-table.tsx";
import { RunsTableFilters } from "../../_components/runs-table-filters.tsx";
import { RunsTableGroups } from "../../_components/runs-table-groups.tsx";
import { formatParamFilters, parseParamFilters, readSort, RUN_STATUSES, runsTableInput } from "../../_components/runs-table-state.tsx";
import { ScalingPanel } from "../../_components/scaling-panel.tsx";
import { Button } from "../../_components/ui.tsx";
import { useTRPC } from "../../_trpc/react.tsx";
import type { ExperimentPanel } from "./panels.ts";

type ExperimentViewProps = {
  experimentId: string;
  project: { id: string; name: string } | null;
  experimentName: string | null;
  specVersion: number | null;
  canEdit: boolean;
  panels: ExperimentPanel[];
  metric: { name: string; goal: "min" | "max" };
};

export function ExperimentView(props: ExperimentViewProps) {
  // useSearchParams needs a Suspense boundary above it.
  return (
    <Suspense fallback={<div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />}>
      <ExperimentViewInner {...props} />
    </Suspense>
  );
}

const linkStyles = "rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400";

function ExperimentViewInner({ experimentId, project, experimentName, specVersion, canEdit, panels, metric }: ExperimentViewProps) {
  const trpc = useTRPC();
  const { params, set } = useUrlState();
  const experimentIds = useMemo(() => [experimentId], [experimentId]);

  const tableInput = runsTableInput(experimentIds, params, { metric: metric.name, metricGoal: metric.goal });
  const { query, rows, columns: paramColumns } = useRunsTableRows(tableInput);

  const experiments = useQuery(trpc.experiment.list.queryOptions(project ? { projectId: project.id } : skipToken));
  const statusCounts = useMemo(() => {
    const listed = experiments.data?.find((experiment) => experiment.id === experimentId)?.statusCounts;
    if (listed) return listed as Record<string, number>;
    const counted: Record<string, number> = {};
    for (const row of rows) counted[row.status] = (counted[row.status] ?? 0) + 1;
    return counted;
  }, [experiments.data, experimentId, rows]);
  const active = (statusCounts.queued ?? 0) + (statusCounts.running ?? 0) > 0;
  const live = useLiveUpdates({ experimentIds, active });

  // Progress and step are on the runs list, not the table rows: read them while runs are active.
  const runList = useQuery(trpc.run.list.queryOptions({ experimentId, limit: 1000 }, { enabled: (statusCounts.running ?? 0) > 0, placeholderData: keepPreviousData }));
  const progress = useMemo(() => {
    const map = new Map<string, RunProgress>();
    for (const run of runList.data?.items ?? []) map.set(run.id, { progress: run.progress, step: run.step });
    return map;
  }, [runList.data]);

  const selected = readList(params, "sel");
  const setSelected = (ids: string[]) => set({ sel: ids.length ? ids.join(",") : null });

  const chartRuns = useMemo((): ChartRun[] => {
    const byId = new Map(rows.map((row) => [row.id, row]));
    const chosen = selected.length > 0 ? selected.map((id) => byId.get(id) ?? { id, name: id, params: {} }) : rows;
    return chosen.slice(0, MAX_CHART_RUNS).map((row) => ({ id: row.id, name: row.name, params: row.params }));
    // selected is re-derived from the URL each render; its joined form is the stable dependency.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows, selected.join(",")]);
  const chartRunIds = chartRuns.map((run) => run.id);
  const keys = useQuery(trpc.metrics.keys.queryOptions({ runIds: chartRunIds }, { enabled: chartRunIds.length > 0, placeholderData: keepPreviousData }));
  const metricOptions = keys.data?.keys.map((entry) => entry.key) ?? [];

  const tablePanel = panels.find((panel) => panel.kind === "table");
  // A scaling panel asks for its fit once the curves are in (see ScalingPanel's hold).
  const hasCurves = panels.some((panel) => panel.kind === "curves");
  const [curvesDrawn, setCurvesDrawn] = useState(false);
  const curvesSettled = useCallback(() => setCurvesDrawn(true), []);
  const groupBy = params.get("tgroup");
  const noRunsAtAll = query.isSuccess && rows.length === 0 && !params.get("q") && !params.get("status") && !params.get("pf");

  const queryClient = useQueryClient();
  const cancelAll = useMutation(
    trpc.run.cancelExperiment.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.runsTable.pathKey() }),
    }),
  );

  let curvesIndex = 0;
  return (
    <div className="space-y-6">
      <header className="space-y-2">
        <nav aria-label="Breadcrumb" className="text-sm">
          <ol className="flex flex-wrap items-center gap-1">
            <li>
              <Link href="/" className={linkStyles}>
                Projects
              </Link>
            </li>
            {project ? (
              <li className="flex items-center gap-1">
                <span aria-hidden className="text-slate-400">
                  ›
                </span>
                <Link href={`/projects/${project.id}`} className={linkStyles}>
                  {project.name}
                </Link>
              </li>
            ) : null}
          </ol>
        </nav>
        <div className="flex flex-wrap items-start justify-between gap-3">
          <div className="min-w-0">
            <h1 className="truncate text-2xl font-semibold tracking-tight">{experimentName ?? "Experiment"}</h1>
            <div className="mt-2 flex flex-wrap items-center gap-2">
              <StatusCounts counts={statusCounts} />
              <LiveBadge mode={live.mode} />
            </div>
          </div>
          <div className="flex flex-wrap items-center gap-2">
            {specVersion !== null ? (
              <Link
                href={`/editor?experiment=${experimentId}`}
                className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800"
              >
                Edit spec (v{specVersion})
              </Link>
            ) : null}
            {canEdit && active ? (
              <Button
                variant="danger"
                disabled={cancelAll.isPending}
                onClick={() => {
                  if (window.confirm("Cancel every queued and running run of this experiment?")) cancelAll.mutate({ experimentId });
                }}
              >
                Cancel all
              </Button>
            ) : null}
          </div>
        </div>
        {cancelAll.error ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            {cancelAll.error.message}
          </p>
        ) : null}
      </header>

      {noRunsAtAll ? (
        <EmptyState title="No runs yet" testId="empty-runs">
          <p>Apply this experiment&apos;s spec to queue its sweep; runs show up here as workers pick them up.</p>
        </EmptyState>
      ) : (
        <section aria-label="Runs" className="space-y-3">
          <RunsTableFilters params={params} set={set} paramColumns={paramColumns} />
          <div className="flex flex-wrap items-center justify-between gap-2">
            <SelectionBar selected={selected} onClear={() => setSelected([])} experimentId={experimentId} />
            {tablePanel?.kind === "table" ? (
              <ToggleButton pressed={params.get("cols") === "all"} onClick={() => set({ cols: params.get("cols") === "all" ? null : "all" })}>
                All columns
              </ToggleButton>
            ) : null}
          </div>
          {query.isError ? (
            <p role="alert" className="rounded-xl border border-red-300 bg-red-50 p-4 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
              Could not load the runs: {query.error.message}
            </p>
          ) : query.isPending ? (
            <div aria-busy="true" className="h-48 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />
          ) : rows.length === 0 ? (
            <p className="rounded-xl border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400" data-testid="runs-none-match">
              No runs match these filters.
            </p>
          ) : (
            <RunsTable
              rows={rows}
              paramColumns={paramColumns}
              metricName={tableInput.metric ?? metric.name}
              sort={readSort(params)}
              onSort={(patch) => set(patch)}
              selected={selected}
              onSelect={setSelected}
              progress={progress}
              canEdit={canEdit}
              hasMore={query.hasNextPage}
              loadingMore={query.isFetchingNextPage}
              onLoadMore={() => void query.fetchNextPage()}
              visibleColumns={tablePanel?.kind === "table" && params.get("cols") !== "all" ? tablePanel.columns : null}
            />
          )}
          {groupBy && paramColumns.includes(groupBy) ? (
            <RunsTableGroups
              input={tableInput}
              groupBy={groupBy}
              metricName={tableInput.metric ?? metric.name}
              onPick={(value) => {
                const conditions = parseParamFilters(params.get("pf"));
                set({ pf: formatParamFilters({ ...conditions, [groupBy]: { equals: value ?? "null" } }) });
              }}
            />
          ) : null}
        </section>
      )}

      {!noRunsAtAll ? (
        <div className="grid gap-4 xl:grid-cols-2">
          {panels.map((panel, index) => {
            if (panel.kind === "curves") {
              const prefix = curvesIndex === 0 ? "" : `c${curvesIndex}.`;
              curvesIndex++;
              return (
                <CurvesPanel
                  key={`curves-${index}`}
                  runs={chartRuns}
                  paramKeys={paramColumns}
                  urlPrefix={prefix}
                  defaults={{ metric: panel.metric, x: panel.x, logX: panel.logX, logY: panel.logY, ...(panel.groupBy ? { groupBy: panel.groupBy } : {}) }}
                  title={selected.length > 0 ? `Curves of ${selected.length} selected run${selected.length === 1 ? "" : "s"}` : undefined}
                  onSettled={curvesSettled}
                />
              );
            }
            if (panel.kind === "scaling") {
              return (
                <ScalingPanel
                  key={`scaling-${index}`}
                  hold={hasCurves && !curvesDrawn}
                  source={{ experimentId }}
                  defaults={{ metric: panel.metric, x: panel.x, fit: panel.fit }}
                  metricOptions={metricOptions}
                  revision={statusCounts.succeeded ?? 0}
                />
              );
            }
            if (panel.kind === "config-diff") {
              const byId = new Map(rows.map((row) => [row.id, row]));
              const diffRuns = selected.flatMap((id) => {
                const row = byId.get(id);
                return row ? [{ id: row.id, name: row.name, values: row.params }] : [];
              });
              return <ConfigDiff key={`diff-${index}`} runs={diffRuns} note="Swept parameters of the selected runs." />;
            }
            return null;
          })}
        </div>
      ) : null}
    </div>
  );
}

function SelectionBar({ selected, onClear, experimentId }: { selected: string[]; onClear: () => void; experimentId: string }) {
  if (selected.length === 0) {
    return <p className="text-xs text-slate-500 dark:text-slate-400">Select runs to plot only those, or to compare them (across experiments too).</p>;
  }
  return (
    <div className="flex flex-wrap items-center gap-2 rounded-lg bg-indigo-50 px-3 py-2 text-sm dark:bg-indigo-950/60" data-testid="selection-bar">
      <span>
        {selected.length} run{selected.length === 1 ? "" : "s"} selected
      </span>
      <Link
        href={`/compare?runs=${selected.join(",")}&from=${experimentId}`}
        className="rounded-md bg-indigo-600 px-3 py-1 text-sm font-medium text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500"
        data-testid="compare-link"
      >
        Compare
      </Link>
      <Button variant="secondary" onClick={onClear}>
        Clear selection
      </Button>
    </div>
  );
}

const COUNT_STYLES: Record<string, string> = {
  queued: "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200",
  running: "bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-300",
  succeeded: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300",
  failed: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  diverged: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300",
  canceled: "bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400",
};

function StatusCounts({ counts }: { counts: Record<string, number> }) {
  const present = RUN_STATUSES.filter((status) => (counts[status] ?? 0) > 0);
  if (present.length === 0) return <span className="text-sm text-slate-500">no runs</span>;
  return (
    <ul className="flex flex-wrap gap-1" aria-label="Runs by status" data-testid="status-counts">
      {present.map((status) => (
        <li key={status} data-testid={`count-${status}`} className={`rounded-full px-2 py-0.5 text-xs font-medium ${COUNT_STYLES[status]}`}>
          {counts[status]} {status}
        </li>
      ))}
    </ul>
  );
}
