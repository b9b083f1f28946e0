"use client";

import { keepPreviousData, skipToken, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { Suspense, useState, type ReactNode } from "react";
import { CurvesPanel } from "../../_components/charts/curves-panel.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric, formatParam } from "../../_components/charts/format.ts";
import { LiveBadge } from "../../_components/charts/live-badge.tsx";
import { useLiveUpdates } from "../../_components/charts/live-updates.ts";
import { useUrlState } from "../../_components/charts/url-state.ts";
import { StatusBadge } from "../../_components/runs-table.tsx";
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

function RunViewInner({ runId }: { runId: string }) {
  const trpc = useTRPC();
  const { params } = useUrlState();
  const [logStatus, setLogStatus] = useState<string | null>(null);

  // The scaling view names the run (and, once it succeeded, its experiment, sizes and swept values).
  const identity = useQuery(trpc.scaling.compare.queryOptions({ runIds: [runId], resamples: 0 }, { placeholderData: keepPreviousData }));
  const finished = identity.data?.runs[0];
  const skipped = identity.data?.skipped[0];
  const name = finished?.name ?? skipped?.name ?? runId;
  // Table links carry the experiment, so runs that have not succeeded still find their row.
  const experimentId = finished?.experimentId ?? params.get("experiment");
  const table = useQuery(
    trpc.runsTable.list.queryOptions(experimentId ? { experimentIds: [experimentId], filter: { search: name }, limit: 50 } : skipToken, { placeholderData: keepPreviousData }),
  );
  const row = table.data?.rows.find((candidate) => candidate.id === runId);
  const status = row?.status ?? logStatus ?? (finished ? "succeeded" : null);
  const active = status === "queued" || status === "running";
  const live = useLiveUpdates({ runIds: [runId], active });

  const keys = useQuery(trpc.metrics.keys.queryOptions({ runIds: [runId] }, { placeholderData: keepPreviousData }));
  const runParams = row?.params ?? finished?.params ?? {};
  const chartRuns = [{ id: runId, name, params: runParams }];

  return (
    <div className="space-y-6">
      <header className="space-y-2">
        <nav aria-label="Breadcrumb" className="text-sm">
          {experimentId ? (
            <Link href={`/experiments/${experimentId}`} className="rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400">
              ← The experiment
            </Link>
          ) : (
            <Link href="/" className="rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400">
              Projects
            </Link>
          )}
        </nav>
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="break-all text-2xl font-semibold tracking-tight">{name}</h1>
          {status ? <StatusBadge status={status} /> : null}
          <LiveBadge mode={live.mode} />
        </div>
      </header>

      <div className="grid gap-4 lg:grid-cols-3">
        <section aria-labelledby="run-summary" className="rounded-xl border border-slate-200 bg-white p-4 lg:col-span-2 dark:border-slate-800 dark:bg-slate-900" data-testid="run-summary">
          <h2 id="run-summary" className="mb-3 font-medium">
            Summary
          </h2>
          <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
            <Fact label="Parameters">{formatCount(row?.paramCount ?? finished?.paramCount)}</Fact>
            <Fact label="Total FLOPs">{formatFlops(row?.totalFlops ?? finished?.totalFlops)}</Fact>
            <Fact label="Wall-clock">{formatDuration(row?.wallClockSeconds ?? finished?.wallClockSeconds)}</Fact>
            <Fact label="Final val/loss">{formatMetric(row?.finalMetric ?? finished?.loss)}</Fact>
            <Fact label="Best val/loss">{formatMetric(row?.bestMetric)}</Fact>
            <Fact label="Backend">{row?.backend ?? "—"}</Fact>
            <Fact label="Worker">{row?.workerName ?? "—"}</Fact>
            <Fact label="Tags">{row?.tags.length ? row.tags.join(", ") : "—"}</Fact>
          </dl>
          {row?.notes ? <p className="mt-3 whitespace-pre-wrap text-sm text-slate-700 dark:text-slate-300">{row.notes}</p> : null}
          {skipped && !finished && status === "succeeded" ? <p className="mt-3 text-xs text-slate-500">Not in the scaling view: {skipped.reason}.</p> : null}
        </section>
        <section aria-labelledby="run-config" className="rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900" data-testid="run-config">
          <h2 id="run-config" className="mb-3 font-medium">
            Swept parameters
          </h2>
          {Object.keys(runParams).length === 0 ? (
            <p className="text-sm text-slate-600 dark:text-slate-400">{identity.isPending || table.isPending ? "Loading…" : "This run's sweep cell set no parameters."}</p>
          ) : (
            <dl className="space-y-1 text-sm">
              {Object.entries(runParams)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([key, value]) => (
                  <div key={key} className="flex justify-between gap-3">
                    <dt className="font-mono text-xs text-slate-600 dark:text-slate-400">{key}</dt>
                    <dd className="tabular-nums">{formatParam(value)}</dd>
                  </div>
                ))}
            </dl>
          )}
          <p className="mt-3 text-xs text-slate-500 dark:text-slate-400">The rest of the configuration is the experiment&apos;s spec.</p>
          {experimentId ? (
            <Link href={`/editor?experiment=${experimentId}`} className="text-xs font-medium text-indigo-600 hover:underline dark:text-indigo-400">
              Open the spec
            </Link>
          ) : null}
        </section>
      </div>

      <section aria-label="Curves" className="space-y-3">
        {keys.isError ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            Could not load the metric names: {keys.error.message}
          </p>
        ) : keys.isPending ? (
          <div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />
        ) : keys.data.keys.length === 0 ? (
          <p className="rounded-xl border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400" data-testid="run-no-metrics">
            No metrics logged yet.
          </p>
        ) : (
          <div className="grid gap-4 lg:grid-cols-2">
            {keys.data.keys.map((entry, index) => (
              <CurvesPanel key={entry.key} runs={chartRuns} fixedMetric={entry.key} urlPrefix={`k${index}.`} height={220} testId="run-curves" title={`${entry.key} (${formatCount(entry.pointCount)} points)`} />
            ))}
          </div>
        )}
      </section>

      <RunLogs runId={runId} onStatus={setLogStatus} />
    </div>
  );
}
