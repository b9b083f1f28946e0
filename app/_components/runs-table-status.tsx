"use client";

import type { RunStatusName } from "./runs-table-state.tsx";

export const STATUS_STYLES: Record<RunStatusName, string> = {
  queued: "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200",
  running: "bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-300",
  succeeded: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300",
  failed: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  diverged: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300",
  canceled: "bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400",
};

export function StatusBadge({ status }: { status: string }) {
  const style = STATUS_STYLES[status as RunStatusName] ?? STATUS_STYLES.queued;
  return (
    <span data-testid="run-status" data-status={status} className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ${style}`}>
      {status === "running" ? <span aria-hidden className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" /> : null}
      {status}
    </span>
  );
}
