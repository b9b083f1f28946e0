import type { RunStatus } from "~/server/generated/prisma/enums.ts";

/** A run's statuses, in the order the UI lists them (filters, counts). */
export const RUN_STATUSES = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "diverged",
  "crashed",
  "canceled",
] as const satisfies readonly RunStatus[];
export type RunStatusName = (typeof RUN_STATUSES)[number];

/** Statuses a run does not leave by itself (a crashed run's script may still come back and heartbeat). */
export const FINISHED_RUN_STATUSES: ReadonlySet<string> = new Set<RunStatusName>([
  "succeeded",
  "failed",
  "diverged",
  "crashed",
  "canceled",
]);

/** A status's badge colours, light and dark: the one place every page takes them from (a status the database gains fails type-checking here until it has its colours). */
export const RUN_STATUS_STYLES: Record<RunStatus, string> = {
  queued: "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200",
  running: "bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-300",
  succeeded: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300",
  failed: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300",
  diverged: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300",
  crashed: "bg-rose-100 text-rose-900 dark:bg-rose-950 dark:text-rose-300",
  canceled: "bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400",
};

/** The colours for any status string; one the UI does not know yet looks like `queued`. */
export function runStatusStyle(status: string): string {
  return (RUN_STATUS_STYLES as Record<string, string>)[status] ?? RUN_STATUS_STYLES.queued;
}
