"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { Fragment, Suspense, useMemo, useState, type ReactNode } from "react";
import { CurvesPanel } from "../../_features/charts/curves-panel.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric, formatParam } from "../../_features/charts/format.ts";
import { LiveBadge } from "../../_features/charts/live-badge.tsx";
import { useLiveUpdates } from "../../_features/charts/live-updates.ts";
import { RunArtifacts } from "~/app/_features/runs/run-artifacts.tsx";
import { StatusBadge } from "../../_features/runs/runs-table.tsx";
import { ErrorMessage, MetricSearch } from "../../_ui/ui.tsx";
import { useTRPC } from "../../_trpc/react.tsx";
import { RUN_PAGE_CHARTS, runPageKeysInput } from "./run-page-limits.ts";
import { RunLogs } from "./run-logs.tsx";
import { METRIC_GROUPS, metricGroup, orderMetricKeys } from "./metric-order.ts";
import { environmentRows, flattenJson, formatNumber, formatValue } from "./run-values.ts";

export function RunView({ runId }: { runId: string }) {
  return (
    <Suspense
      fallback={<div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />}
    >
      <RunViewInner runId={runId} />
    </Suspense>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="truncate tabular-nums">{children}</dd>
    </div>
  );
}

function Panel({
  id,
  title,
  testId,
  className = "",
  children,
}: {
  id: string;
  title: string;
  testId: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <section
      aria-labelledby={id}
      data-testid={testId}
      className={`min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900 ${className}`}
    >
      <h2 id={id} className="mb-3 font-medium">
        {title}
      </h2>
      {children}
    </section>
  );
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `hidden`: values the server left out (run.get lists a bounded number per field). */
function KeyValues({
  entries,
  empty,
  testId,
  hidden = 0,
}: {
  entries: [string, string][];
  empty: string;
  testId: string;
  hidden?: number;
}) {
  if (entries.length === 0) return <p className="text-sm text-slate-600 dark:text-slate-400">{empty}</p>;
  return (
    <>
      <dl data-testid={testId} className="max-h-80 space-y-1 overflow-auto text-sm">
        {entries.map(([key, value]) => (
          <div key={key} className="flex justify-between gap-3">
            <dt className="shrink-0 font-mono text-xs text-slate-600 dark:text-slate-400">{key}</dt>
            <dd className="min-w-0 break-all text-right tabular-nums">{value}</dd>
          </div>
        ))}
      </dl>
      {hidden > 0 ? (
        <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">{`${formatCount(hidden)} more values not shown`}</p>
      ) : null}
    </>
  );
}

const hiddenValues = (total: number, limit: number) => Math.max(0, total - limit);

/** What the trainer's summary says about D and clean time (the Run columns), when it says it. */
function summaryNumber(summary: unknown, key: string): number | null {
  if (summary === null || typeof summary !== "object" || Array.isArray(summary)) return null;
  const value = (summary as Record<string, unknown>)[key];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

const CRASHED_NOTE =
  "The script logging this run stopped sending heartbeats, so it was marked crashed; a heartbeat from it revives the run.";

function RunViewInner({ runId }: { runId: string }) {
  const trpc = useTRPC();
  const runQuery = useQuery(trpc.run.get.queryOptions({ runId }, { placeholderData: keepPreviousData }));
  const run = runQuery.data;
  const active = run?.status === "queued" || run?.status === "running";
  const live = useLiveUpdates({ runIds: [runId], active });
  // One chart per key, a page at a time: a run may log a thousand keys.
  const [chartLimit, setChartLimit] = useState(RUN_PAGE_CHARTS);
  const [keySearch, setKeySearch] = useState("");
  const keys = useQuery(
    trpc.metrics.keys.queryOptions(runPageKeysInput(runId, keySearch.trim()), {
      placeholderData: keepPreviousData,
    }),
  );
  // Every key is read (a run logs at most 1,000), ordered by meaning, and drawn a page at a time.
  // The run's own metric (its spec's or project's) leads the losses.
  const ownMetric = run?.metric.name ?? null;
  const ordered = useMemo(() => orderMetricKeys(keys.data?.keys ?? [], ownMetric), [keys.data, ownMetric]);
  const shownKeys = ordered.slice(0, chartLimit);
  const moreKeys = keys.data ? keys.data.total - shownKeys.length : 0;

  if (runQuery.isError && !run) return <ErrorMessage>Could not load this run: {runQuery.error.message}</ErrorMessage>;
  if (!run) return <div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;

  const config = (run.config ?? {}) as { [key: string]: Json };
  const { params: sweptParams, ...restOfConfig } = config;
  const runParams = (
    sweptParams && typeof sweptParams === "object" && !Array.isArray(sweptParams) ? sweptParams : {}
  ) as Record<string, string | number | boolean | null>;
  const chartRuns = [{ id: runId, name: run.name, params: runParams }];
  const metricName = run.metric.name;
  const metric = run.metrics.find((series) => series.key === metricName) ?? null;
  const bestValue = run.metric.goal === "max" ? metric?.maxValue : metric?.minValue;
  const trainLoss = run.metrics.find((series) => series.key === "train/loss") ?? null;
  const summaryValue = (key: string) => summaryNumber(run.summary, key);
  const tokens = summaryValue("tokens");
  const samples = summaryValue("samples");
  const samplesPerSecond = summaryValue("samplesPerSecond");
  const cleanTime = (["trainSeconds", "evalSeconds", "overheadSeconds"] as const).map((key) => summaryValue(key));

  return (
    <div className="space-y-6">
      <header className="space-y-2">
        <nav aria-label="Breadcrumb" className="flex flex-wrap gap-1 text-sm text-slate-600 dark:text-slate-400">
          <Link
            href={`/projects/${run.experiment.project.id}`}
            className="rounded hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            {run.experiment.project.name}
          </Link>
          <span aria-hidden>/</span>
          <Link
            href={`/experiments/${run.experiment.id}`}
            className="rounded hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            {run.experiment.name}
          </Link>
        </nav>
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="break-all text-2xl font-semibold tracking-tight">{run.name}</h1>
          <StatusBadge status={run.status} reason={run.error} />
          {/* Still following events, but "Live" next to a finished run reads as if it were still training. */}
          {run.status === "queued" || run.status === "running" ? <LiveBadge mode={live.mode} /> : null}
        </div>
        {runQuery.isError ? <ErrorMessage>Could not refresh this run: {runQuery.error.message}</ErrorMessage> : null}
        {run.error ? (
          <p className="text-sm text-red-700 dark:text-red-300" data-testid="run-error">
            {run.error}
          </p>
        ) : null}
        {run.status === "crashed" ? (
          <p className="text-sm text-amber-800 dark:text-amber-300" data-testid="run-crashed">
            {CRASHED_NOTE}
          </p>
        ) : null}
      </header>

      <div className="grid gap-4 lg:grid-cols-3">
        <Panel id="run-summary-title" title="Summary" testId="run-summary" className="lg:col-span-2">
          <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
            <Fact label="Parameters">{formatCount(run.paramCount)}</Fact>
            <Fact label="Total FLOPs">{formatFlops(run.totalFlops)}</Fact>
            <Fact label="Wall-clock">{formatDuration(run.wallClockSeconds)}</Fact>
            <Fact label="Step">
              {run.step === null
                ? "—"
                : `${formatCount(run.step)}${run.progress !== null && active ? ` (${Math.round(run.progress * 100)}%)` : ""}`}
            </Fact>
            <Fact label="Final train/loss">{formatMetric(trainLoss?.lastValue, 3)}</Fact>
            <Fact label={`Final ${metricName}`}>{formatMetric(metric?.lastValue, 3)}</Fact>
            <Fact label={`Best ${metricName}`}>{formatMetric(bestValue, 3)}</Fact>
            <Fact label={tokens !== null ? "Tokens" : "Samples"}>
              {tokens !== null ? formatCount(tokens) : samples !== null ? formatCount(samples) : "—"}
            </Fact>
            <Fact label="Throughput">
              {samplesPerSecond !== null ? `${formatNumber(samplesPerSecond)} samples/s` : "—"}
            </Fact>
            <Fact label="Train · eval · overhead">
              {cleanTime.every((value) => value === null)
                ? "—"
                : cleanTime.map((value) => formatDuration(value)).join(" · ")}
            </Fact>
            <Fact label="Attempt">{`${run.attempt} of ${run.maxAttempts}`}</Fact>
            <Fact label="Tags">{run.tags.length ? run.tags.join(", ") : "—"}</Fact>
          </dl>
          {run.notes ? (
            <p className="mt-3 whitespace-pre-wrap text-sm text-slate-700 dark:text-slate-300">{run.notes}</p>
          ) : null}
          <dl className="mt-4 grid grid-cols-1 gap-x-3 gap-y-1 border-t border-slate-100 pt-3 text-xs text-slate-600 sm:grid-cols-3 dark:border-slate-800 dark:text-slate-400">
            <div>Queued {run.queuedAt.toLocaleString()}</div>
            <div>{run.startedAt ? `Started ${run.startedAt.toLocaleString()}` : "Not started"}</div>
            <div>
              {run.finishedAt
                ? `Finished ${run.finishedAt.toLocaleString()}`
                : run.cancelRequestedAt
                  ? "Stopping…"
                  : "Not finished"}
            </div>
          </dl>
        </Panel>
        <Panel id="run-config-title" title="Swept parameters" testId="run-config">
          <KeyValues
            testId="run-params"
            entries={Object.entries(runParams)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([key, value]) => [key, formatParam(value)])}
            empty="This run's sweep cell set no parameters."
          />
          <Link
            href={`/editor?experiment=${run.experiment.id}`}
            className="mt-3 inline-block text-xs font-medium text-indigo-600 hover:underline dark:text-indigo-400"
          >
            Open the spec
          </Link>
        </Panel>
      </div>

      <section aria-label="Curves" className="space-y-3">
        {keys.isError ? (
          <ErrorMessage>Could not load the metric names: {keys.error.message}</ErrorMessage>
        ) : keys.isPending ? (
          <div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />
        ) : keys.data.total === 0 && !keySearch ? (
          <p
            className="rounded-xl border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400"
            data-testid="run-no-metrics"
          >
            {active ? "No metrics logged yet: curves appear with the first points." : "This run logged no metrics."}
          </p>
        ) : (
          <>
            {keys.data.total > RUN_PAGE_CHARTS || keySearch ? (
              <div className="flex flex-wrap items-center gap-3 text-sm">
                <MetricSearch
                  value={keySearch}
                  onChange={setKeySearch}
                  testId="run-metric-search"
                  className="rounded-md border border-slate-300 bg-white px-2 py-1 dark:border-slate-700 dark:bg-slate-900"
                />
                <span className="text-slate-600 dark:text-slate-400" data-testid="run-metric-count">
                  {`${formatCount(shownKeys.length)} of ${formatCount(keys.data.total)} metrics`}
                </span>
              </div>
            ) : null}
            {shownKeys.length === 0 ? (
              <p className="text-sm text-slate-600 dark:text-slate-400">No metric matches.</p>
            ) : null}
            {METRIC_GROUPS.map((group) => {
              const inGroup = shownKeys.filter((entry) => metricGroup(entry.key, ownMetric) === group);
              if (inGroup.length === 0) return null;
              return (
                <Fragment key={group}>
                  <h2
                    className="pt-2 text-sm font-medium text-slate-600 dark:text-slate-400"
                    data-testid="run-metric-group"
                  >
                    {group}
                  </h2>
                  <div className="grid gap-4 lg:grid-cols-2">
                    {inGroup.map((entry) => (
                      <CurvesPanel
                        key={entry.key}
                        runs={chartRuns}
                        fixedMetric={entry.key}
                        // The key itself, not a position: the order may change as keys appear.
                        urlPrefix={`k.${encodeURIComponent(entry.key)}.`}
                        height={220}
                        testId="run-curves"
                        title={`${entry.key} (${formatCount(entry.pointCount)} points)`}
                      />
                    ))}
                  </div>
                </Fragment>
              );
            })}
            {moreKeys > 0 ? (
              <button
                type="button"
                onClick={() => setChartLimit((limit) => Math.min(limit + RUN_PAGE_CHARTS, 1_000))}
                data-testid="run-metric-more"
                className="rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-50 dark:border-slate-700 dark:hover:bg-slate-800"
              >
                {`Show ${formatCount(Math.min(RUN_PAGE_CHARTS, moreKeys))} more (${formatCount(moreKeys)} not shown)`}
              </button>
            ) : null}
          </>
        )}
      </section>

      <div className="grid gap-4 lg:grid-cols-3">
        <Panel id="run-full-config-title" title="Resolved config" testId="run-full-config">
          <KeyValues
            testId="run-config-entries"
            // The config as written: exact numbers, not rounded ones.
            entries={flattenJson(restOfConfig).map(([key, value]) => [
              key,
              typeof value === "number" ? String(value) : formatValue(key, value),
            ])}
            empty="No configuration stored."
            hidden={hiddenValues(run.jsonValues.config, run.jsonValues.limit)}
          />
        </Panel>
        <Panel id="run-trainer-summary-title" title="Trainer summary" testId="run-trainer-summary">
          <KeyValues
            testId="run-summary-entries"
            entries={flattenJson(run.summary).map(([key, value]) => [key, formatValue(key, value)])}
            empty={active ? "Written when the run finishes." : "The runner reported no summary."}
            hidden={hiddenValues(run.jsonValues.summary, run.jsonValues.limit)}
          />
        </Panel>
        <Panel id="run-environment-title" title="Environment" testId="run-environment">
          <KeyValues
            testId="run-environment-entries"
            entries={environmentRows(run.environment, run)}
            empty={run.status === "queued" ? "Known once a worker claims the run." : "No environment recorded."}
            hidden={hiddenValues(run.jsonValues.environment, run.jsonValues.limit)}
          />
        </Panel>
      </div>

      <div className="grid gap-4 lg:grid-cols-3">
        <div className="min-w-0 lg:col-span-2">
          <RunLogs runId={runId} />
        </div>
        {/* Its hint names a long URL: it breaks anywhere rather than widen a phone's page. */}
        <div className="min-w-0 [overflow-wrap:anywhere]">
          <RunArtifacts runId={runId} />
        </div>
      </div>
    </div>
  );
}
