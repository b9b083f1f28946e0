"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { Suspense, type ReactNode } from "react";
import { CurvesPanel } from "../../_components/charts/curves-panel.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric, formatParam } from "../../_components/charts/format.ts";
import { LiveBadge } from "../../_components/charts/live-badge.tsx";
import { useLiveUpdates } from "../../_components/charts/live-updates.ts";
import { StatusBadge } from "../../_components/runs-table.tsx";
import { ErrorMessage } from "../../_components/ui.tsx";
import { useTRPC } from "../../_trpc/react.tsx";
import { RunLogs } from "./run-logs.tsx";

export function RunView({ runId }: { runId: string }) {
  return (
    <Suspense fallback={<div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />}>
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

function Panel({ id, title, testId, className = "", children }: { id: string; title: string; testId: string; className?: string; children: ReactNode }) {
  return (
    <section aria-labelledby={id} data-testid={testId} className={`min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900 ${className}`}>
      <h2 id={id} className="mb-3 font-medium">
        {title}
      </h2>
      {children}
    </section>
  );
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Nested objects as dotted keys ("training.optimizer.lr"), arrays and scalars as their JSON. */
function flatten(value: Json | undefined, prefix = "", into: [string, string][] = []): [string, string][] {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix) {
    into.push([prefix, typeof value === "string" ? value : JSON.stringify(value ?? null)]);
  }
  return into;
}

function KeyValues({ entries, empty, testId }: { entries: [string, string][]; empty: string; testId: string }) {
  if (entries.length === 0) return <p className="text-sm text-slate-600 dark:text-slate-400">{empty}</p>;
  return (
    <dl data-testid={testId} className="max-h-80 space-y-1 overflow-auto text-sm">
      {entries.map(([key, value]) => (
        <div key={key} className="flex justify-between gap-3">
          <dt className="shrink-0 font-mono text-xs text-slate-600 dark:text-slate-400">{key}</dt>
          <dd className="min-w-0 break-all text-right tabular-nums">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The worker and backend from the run row, then whatever else the runner recorded (each key once). */
function environmentEntries(run: { workerName: string | null; backend: string | null; environment: unknown }): [string, string][] {
  const recorded = flatten(run.environment as Json);
  const known = new Set(recorded.map(([key]) => key));
  const fromRow: [string, string][] = [];
  if (run.workerName && !known.has("worker")) fromRow.push(["worker", run.workerName]);
  if (run.backend && !known.has("backend")) fromRow.push(["backend", run.backend]);
  return [...fromRow, ...recorded];
}

function RunViewInner({ runId }: { runId: string }) {
  const trpc = useTRPC();
  const runQuery = useQuery(trpc.run.get.queryOptions({ runId }, { placeholderData: keepPreviousData }));
  const run = runQuery.data;
  const active = run?.status === "queued" || run?.status === "running";
  const live = useLiveUpdates({ runIds: [runId], active });
  const keys = useQuery(trpc.metrics.keys.queryOptions({ runIds: [runId] }, { placeholderData: keepPreviousData }));

  if (runQuery.isError && !run) return <ErrorMessage>Could not load this run: {runQuery.error.message}</ErrorMessage>;
  if (!run) return <div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;

  const config = (run.config ?? {}) as { [key: string]: Json };
  const { params: sweptParams, ...restOfConfig } = config;
  const runParams = (sweptParams && typeof sweptParams === "object" && !Array.isArray(sweptParams) ? sweptParams : {}) as Record<string, string | number | boolean | null>;
  const chartRuns = [{ id: runId, name: run.name, params: runParams }];
  const metric = run.metrics.find((series) => series.key === "val/loss") ?? null;

  return (
    <div className="space-y-6">
      <header className="space-y-2">
        <nav aria-label="Breadcrumb" className="flex flex-wrap gap-1 text-sm text-slate-600 dark:text-slate-400">
          <Link href={`/projects/${run.experiment.project.id}`} className="rounded hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500">
            {run.experiment.project.name}
          </Link>
          <span aria-hidden>/</span>
          <Link href={`/experiments/${run.experiment.id}`} className="rounded hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500">
            {run.experiment.name}
          </Link>
        </nav>
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="break-all text-2xl font-semibold tracking-tight">{run.name}</h1>
          <StatusBadge status={run.status} />
          {/* Still following events, but "Live" next to a finished run reads as if it were still training. */}
          {run.status === "queued" || run.status === "running" ? <LiveBadge mode={live.mode} /> : null}
        </div>
        {runQuery.isError ? <ErrorMessage>Could not refresh this run: {runQuery.error.message}</ErrorMessage> : null}
        {run.error ? (
          <p className="text-sm text-red-700 dark:text-red-300" data-testid="run-error">
            {run.error}
          </p>
        ) : null}
      </header>

      <div className="grid gap-4 lg:grid-cols-3">
        <Panel id="run-summary-title" title="Summary" testId="run-summary" className="lg:col-span-2">
          <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
            <Fact label="Parameters">{formatCount(run.paramCount)}</Fact>
            <Fact label="Total FLOPs">{formatFlops(run.totalFlops)}</Fact>
            <Fact label="Wall-clock">{formatDuration(run.wallClockSeconds)}</Fact>
            <Fact label="Step">{run.step === null ? "—" : `${formatCount(run.step)}${run.progress !== null && active ? ` (${Math.round(run.progress * 100)}%)` : ""}`}</Fact>
            <Fact label="Final val/loss">{formatMetric(metric?.lastValue)}</Fact>
            <Fact label="Best val/loss">{formatMetric(metric?.minValue)}</Fact>
            <Fact label="Attempt">{`${run.attempt} of ${run.maxAttempts}`}</Fact>
            <Fact label="Tags">{run.tags.length ? run.tags.join(", ") : "—"}</Fact>
          </dl>
          {run.notes ? <p className="mt-3 whitespace-pre-wrap text-sm text-slate-700 dark:text-slate-300">{run.notes}</p> : null}
          <dl className="mt-4 grid grid-cols-1 gap-x-3 gap-y-1 border-t border-slate-100 pt-3 text-xs text-slate-600 sm:grid-cols-3 dark:border-slate-800 dark:text-slate-400">
            <div>Queued {run.queuedAt.toLocaleString()}</div>
            <div>{run.startedAt ? `Started ${run.startedAt.toLocaleString()}` : "Not started"}</div>
            <div>{run.finishedAt ? `Finished ${run.finishedAt.toLocaleString()}` : run.cancelRequestedAt ? "Stopping…" : "Not finished"}</div>
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
          <Link href={`/editor?experiment=${run.experiment.id}`} className="mt-3 inline-block text-xs font-medium text-indigo-600 hover:underline dark:text-indigo-400">
            Open the spec
          </Link>
        </Panel>
      </div>

      <section aria-label="Curves" className="space-y-3">
        {keys.isError ? (
          <ErrorMessage>Could not load the metric names: {keys.error.message}</ErrorMessage>
        ) : keys.isPending ? (
          <div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />
        ) : keys.data.keys.length === 0 ? (
          <p className="rounded-xl border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400" data-testid="run-no-metrics">
            {active ? "No metrics logged yet: curves appear with the first points." : "This run logged no metrics."}
          </p>
        ) : (
          <div className="grid gap-4 lg:grid-cols-2">
            {keys.data.keys.map((entry, index) => (
              <CurvesPanel key={entry.key} runs={chartRuns} fixedMetric={entry.key} urlPrefix={`k${index}.`} height={220} testId="run-curves" title={`${entry.key} (${formatCount(entry.pointCount)} points)`} />
            ))}
          </div>
        )}
      </section>

      <div className="grid gap-4 lg:grid-cols-3">
        <Panel id="run-full-config-title" title="Resolved config" testId="run-full-config">
          <KeyValues testId="run-config-entries" entries={flatten(restOfConfig)} empty="No configuration stored." />
        </Panel>
        <Panel id="run-trainer-summary-title" title="Trainer summary" testId="run-trainer-summary">
          <KeyValues testId="run-summary-entries" entries={flatten(run.summary as Json)} empty={active ? "Written when the run finishes." : "The runner reported no summary."} />
        </Panel>
        <Panel id="run-environment-title" title="Environment" testId="run-environment">
          <KeyValues
            testId="run-environment-entries"
            entries={environmentEntries(run)}
            empty={run.status === "queued" ? "Known once a worker claims the run." : "No environment recorded."}
          />
        </Panel>
      </div>

      <RunLogs runId={runId} />
    </div>
  );
}
