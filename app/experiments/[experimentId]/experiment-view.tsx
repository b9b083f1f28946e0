"use client";

import { keepPreviousData, skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { Suspense, useCallback, useMemo, useState } from "react";
import { smallSelect, ToggleButton, ToolbarLabel } from "../../_features/charts/chart-frame.tsx";
import { MAX_CHART_RUNS, type ChartRun } from "../../_features/charts/curves-panel.tsx";
import { readList, useUrlState } from "../../_features/charts/url-state.ts";
import { LiveBadge } from "../../_features/charts/live-badge.tsx";
import { useLiveUpdates } from "../../_features/charts/live-updates.ts";
import type { ExperimentPanelPage } from "../../_features/panels/panel-renderer.ts";
import { panelRenderer } from "../../_features/panels/panel-renderers.ts";
import { EmptyState } from "../../_ui/empty-state.tsx";
import { HyperparameterView } from "../../_features/hyperparameters/hyperparameter-view.tsx";
import { RunsTable, useRunsTableRows, type RunProgress } from "../../_features/runs/runs-table.tsx";
import { RunsTableFilters } from "../../_features/runs/runs-table-filters.tsx";
import { RunsTableGroups } from "../../_features/runs/runs-table-groups.tsx";
import {
  formatParamFilters,
  parseParamFilters,
  readSort,
  runsTableInput,
  withRunFilter,
} from "../../_features/runs/runs-table-state.tsx";
import { StatusCounts } from "../../_ui/status-counts.tsx";
import { Button } from "../../_ui/ui.tsx";
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
    <Suspense
      fallback={<div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />}
    >
      <ExperimentViewInner {...props} />
    </Suspense>
  );
}

const linkStyles =
  "rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400";

function ExperimentViewInner({
  experimentId,
  project,
  experimentName,
  specVersion: initialSpecVersion,
  canEdit,
  panels,
  metric,
}: ExperimentViewProps) {
  const trpc = useTRPC();
  // The latest spec version, kept current (a CLI apply invalidates it through live updates); the
  // server's answer stands until the list arrives.
  const specVersions = useQuery(trpc.spec.versions.queryOptions({ experimentId }));
  const specVersion = specVersions.data ? (specVersions.data[0]?.version ?? null) : initialSpecVersion;
  const { params, set } = useUrlState();
  const sort = useMemo(() => readSort(params), [params]);
  const experimentIds = useMemo(() => [experimentId], [experimentId]);

  // The runs inside the hyperparameter view's brushed ranges (null: nothing brushed).
  const [brushedRunIds, setBrushedRunIds] = useState<string[] | null>(null);
  const tableInput = withRunFilter(
    runsTableInput(experimentIds, params, { metric: metric.name, metricGoal: metric.goal }),
    brushedRunIds,
  );
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
  const runList = useQuery(
    trpc.run.list.queryOptions(
      { experimentId, limit: 1000 },
      { enabled: (statusCounts.running ?? 0) > 0, placeholderData: keepPreviousData },
    ),
  );
  const progress = useMemo(() => {
    const map = new Map<string, RunProgress>();
    for (const run of runList.data?.items ?? []) map.set(run.id, { progress: run.progress, step: run.step });
    return map;
  }, [runList.data]);

  const selected = useMemo(() => readList(params, "sel"), [params]);
  const setSelected = (ids: string[]) => set({ sel: ids.length ? ids.join(",") : null });

  const chartRuns = useMemo((): ChartRun[] => {
    const byId = new Map(rows.map((row) => [row.id, row]));
    const chosen = selected.length > 0 ? selected.map((id) => byId.get(id) ?? { id, name: id, params: {} }) : rows;
    return chosen.slice(0, MAX_CHART_RUNS).map((row) => ({ id: row.id, name: row.name, params: row.params }));
  }, [rows, selected]);
  const chartRunIds = chartRuns.map((run) => run.id);
  const keys = useQuery(
    trpc.metrics.keys.queryOptions(
      { runIds: chartRunIds },
      { enabled: chartRunIds.length > 0, placeholderData: keepPreviousData },
    ),
  );
  const metricOptions = keys.data?.keys.map((entry) => entry.key) ?? [];

  const tablePanel = panels.find((panel) => panel.kind === "table");
  const [curvesDrawn, setCurvesDrawn] = useState(false);
  const curvesSettled = useCallback(() => setCurvesDrawn(true), []);
  const selectedRuns = useMemo(() => {
    const byId = new Map(rows.map((row) => [row.id, row]));
    return selected.flatMap((id) => {
      const row = byId.get(id);
      return row ? [{ id: row.id, name: row.name, values: row.params }] : [];
    });
  }, [rows, selected]);
  const panelPage: ExperimentPanelPage = {
    experimentId,
    panels,
    chartRuns,
    paramColumns,
    selectedCount: selected.length,
    selectedRuns,
    metricOptions,
    succeededCount: statusCounts.succeeded ?? 0,
    curvesDrawn,
    onCurvesSettled: curvesSettled,
  };
  const groupBy = params.get("tgroup");
  const noRunsAtAll =
    query.isSuccess &&
    rows.length === 0 &&
    !params.get("q") &&
    !params.get("status") &&
    !params.get("pf") &&
    brushedRunIds === null;

  const queryClient = useQueryClient();
  const cancelAll = useMutation(
    trpc.run.cancelExperiment.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.runsTable.pathKey() }),
    }),
  );

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
              <StatusCounts counts={statusCounts} testId="status-counts" pillTestIdPrefix="count-" />
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
                  if (window.confirm("Cancel every queued and running run of this experiment?"))
                    cancelAll.mutate({ experimentId });
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
            {/* The table's final and best columns, from the keys the runs logged (the experiment's metric first). */}
            {metricOptions.length > 0 ? (
              <ToolbarLabel label="Table metric">
                <select
                  className={`${smallSelect} max-w-48`}
                  value={tableInput.metric ?? metric.name}
                  onChange={(event) => set({ tmetric: event.target.value === metric.name ? null : event.target.value })}
                  data-testid="runs-table-metric"
                >
                  {[...new Set([metric.name, tableInput.metric ?? metric.name, ...metricOptions])].map((option) => (
                    <option key={option} value={option}>
                      {option}
                    </option>
                  ))}
                </select>
              </ToolbarLabel>
            ) : null}
            {tablePanel?.kind === "table" ? (
              <ToggleButton
                pressed={params.get("cols") === "all"}
                onClick={() => set({ cols: params.get("cols") === "all" ? null : "all" })}
              >
                All columns
              </ToggleButton>
            ) : null}
          </div>
          {query.isError ? (
            <p
              role="alert"
              className="rounded-xl border border-red-300 bg-red-50 p-4 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
            >
              Could not load the runs: {query.error.message}
            </p>
          ) : query.isPending ? (
            <div aria-busy="true" className="h-48 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />
          ) : rows.length === 0 ? (
            <p
              className="rounded-xl border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400"
              data-testid="runs-none-match"
            >
              No runs match these filters.
            </p>
          ) : (
            <RunsTable
              rows={rows}
              paramColumns={paramColumns}
              metricName={tableInput.metric ?? metric.name}
              sort={sort}
              onSort={set}
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
        <HyperparameterView
          experimentId={experimentId}
          metric={metric}
          succeededCount={statusCounts.succeeded ?? 0}
          onRunFilter={setBrushedRunIds}
        />
      ) : null}

      {!noRunsAtAll ? (
        <div className="grid gap-4 xl:grid-cols-2">
          {panels.map((panel, index) => {
            const { Experiment } = panelRenderer(panel.kind);
            return Experiment ? (
              // biome-ignore lint/suspicious/noArrayIndexKey: the spec's panels are a fixed list for the page's life; a panel's place is its identity.
              <Experiment key={`${panel.kind}-${index}`} panel={panel} index={index} page={panelPage} />
            ) : null;
          })}
        </div>
      ) : null}
    </div>
  );
}

function SelectionBar({
  selected,
  onClear,
  experimentId,
}: {
  selected: string[];
  onClear: () => void;
  experimentId: string;
}) {
  if (selected.length === 0) {
    return (
      <p className="text-xs text-slate-500 dark:text-slate-400">
        Select runs to plot only those, or to compare them (across experiments too).
      </p>
    );
  }
  return (
    <div
      className="flex flex-wrap items-center gap-2 rounded-lg bg-indigo-50 px-3 py-2 text-sm dark:bg-indigo-950/60"
      data-testid="selection-bar"
    >
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
