"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "../../_trpc/react.tsx";
import { DataCell, DataRow, DataTable } from "../../_ui/data-table.tsx";
import { EmptyState } from "../../_ui/empty-state.tsx";
import { StatusCounts } from "../../_ui/status-counts.tsx";

const linkStyles =
  "rounded font-medium text-indigo-600 underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-400";

const EXPERIMENT_COLUMNS = [
  { label: "Experiment" },
  { label: "Runs" },
  { label: "Spec versions" },
  { label: "Updated" },
  { label: "Actions", hidden: true },
];

/** A project's experiments with their runs by status and a way into each one's spec. */
export function ExperimentList({ projectId, projectName }: { projectId: string; projectName: string }) {
  const trpc = useTRPC();
  const experiments = useQuery({ ...trpc.experiment.list.queryOptions({ projectId }), refetchInterval: 10_000 });

  if (experiments.isPending)
    return <div aria-busy className="h-32 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;
  if (experiments.isError) {
    return (
      <div
        role="alert"
        className="rounded-xl border border-red-300 bg-red-50 p-4 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
      >
        Could not load experiments: {experiments.error.message}
      </div>
    );
  }
  if (experiments.data.length === 0) {
    return (
      <EmptyState title="No experiments yet" testId="empty-experiments">
        <p>
          An experiment is a spec (dataset, model, training, sweep) and the runs it queued. Write one in the editor,
          plan it, then apply it.
        </p>
        <Link href={`/editor?project=${encodeURIComponent(projectName)}`} className={linkStyles}>
          Write the first spec
        </Link>
      </EmptyState>
    );
  }
  return (
    <DataTable columns={EXPERIMENT_COLUMNS} testId="experiment-list" density="comfortable">
      {experiments.data.map((experiment) => (
        <DataRow key={experiment.id} testId="experiment-row" top>
          <DataCell>
            <Link href={`/experiments/${experiment.id}`} className={linkStyles} data-testid="experiment-link">
              {experiment.name}
            </Link>
            {experiment.description ? (
              <p className="mt-0.5 max-w-md text-xs text-slate-600 dark:text-slate-400">{experiment.description}</p>
            ) : null}
          </DataCell>
          <DataCell className="space-y-1">
            <div className="tabular-nums">{experiment.runCount} total</div>
            <StatusCounts counts={experiment.statusCounts} pillTestIdPrefix="status-" />
          </DataCell>
          <DataCell className="tabular-nums">{experiment.specVersionCount}</DataCell>
          <DataCell className="whitespace-nowrap text-slate-600 dark:text-slate-400">
            {experiment.updatedAt.toLocaleString()}
          </DataCell>
          <DataCell className="whitespace-nowrap text-right">
            <Link
              href={`/editor?experiment=${experiment.id}`}
              className={linkStyles}
              aria-label={`Edit spec of ${experiment.name}`}
            >
              Edit spec
            </Link>
          </DataCell>
        </DataRow>
      ))}
    </DataTable>
  );
}
