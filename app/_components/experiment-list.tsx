"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "../_trpc/react.tsx";
import { EmptyState } from "./empty-state.tsx";

const STATUS_ORDER = ["queued", "running", "succeeded", "failed", "diverged", "canceled"] as const;
const STATUS_STYLES: Record<(typeof STATUS_ORDER)[number], string> = {
  queued: "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200",
  running: "bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-300",
  succeeded: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300",
  failed: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  diverged: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300",
  canceled: "bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400",
};

const linkStyles = "rounded font-medium text-indigo-600 underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-400";

function StatusCounts({ counts }: { counts: Record<string, number> }) {
  const present = STATUS_ORDER.filter((status) => (counts[status] ?? 0) > 0);
  if (present.length === 0) return <span className="text-slate-500">no runs</span>;
  return (
    <ul className="flex flex-wrap gap-1" aria-label="Runs by status">
      {present.map((status) => (
        <li key={status} data-testid={`status-${status}`} className={`rounded-full px-2 py-0.5 text-xs font-medium ${STATUS_STYLES[status]}`}>
          {counts[status]} {status}
        </li>
      ))}
    </ul>
  );
}

/** A project's experiments with their runs by status and a way into each one's spec. */
export function ExperimentList({ projectId, projectName }: { projectId: string; projectName: string }) {
  const trpc = useTRPC();
  const experiments = useQuery({ ...trpc.experiment.list.queryOptions({ projectId }), refetchInterval: 10_000 });

  if (experiments.isPending) return <div aria-busy className="h-32 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;
  if (experiments.isError) {
    return (
      <div role="alert" className="rounded-xl border border-red-300 bg-red-50 p-4 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
        Could not load experiments: {experiments.error.message}
      </div>
    );
  }
  if (experiments.data.length === 0) {
    return (
      <EmptyState title="No experiments yet" testId="empty-experiments">
        <p>An experiment is a spec (dataset, model, training, sweep) and the runs it queued. Write one in the editor, plan it, then apply it.</p>
        <Link href={`/editor?project=${encodeURIComponent(projectName)}`} className={linkStyles}>
          Write the first spec
        </Link>
      </EmptyState>
    );
  }
  return (
    <div className="overflow-x-auto rounded-xl border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className="w-full text-left text-sm" data-testid="experiment-list">
        <thead className="border-b border-slate-200 text-xs uppercase text-slate-500 dark:border-slate-800">
          <tr>
            <th scope="col" className="px-4 py-2">Experiment</th>
            <th scope="col" className="px-4 py-2">Runs</th>
            <th scope="col" className="px-4 py-2">Spec versions</th>
            <th scope="col" className="px-4 py-2">Updated</th>
            <th scope="col" className="px-4 py-2">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {experiments.data.map((experiment) => (
            <tr key={experiment.id} data-testid="experiment-row" className="border-b border-slate-100 align-top last:border-0 dark:border-slate-800">
              <td className="px-4 py-3">
                <Link href={`/experiments/${experiment.id}`} className={linkStyles} data-testid="experiment-link">
                  {experiment.name}
                </Link>
                {experiment.description ? <p className="mt-0.5 max-w-md text-xs text-slate-600 dark:text-slate-400">{experiment.description}</p> : null}
              </td>
              <td className="space-y-1 px-4 py-3">
                <div className="tabular-nums">{experiment.runCount} total</div>
                <StatusCounts counts={experiment.statusCounts} />
              </td>
              <td className="px-4 py-3 tabular-nums">{experiment.specVersionCount}</td>
              <td className="whitespace-nowrap px-4 py-3 text-slate-600 dark:text-slate-400">{experiment.updatedAt.toLocaleString()}</td>
              <td className="whitespace-nowrap px-4 py-3 text-right">
                <Link href={`/editor?experiment=${experiment.id}`} className={linkStyles} aria-label={`Edit spec of ${experiment.name}`}>
                  Edit spec
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
