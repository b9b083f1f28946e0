"use client";

import { runStatusStyle } from "../../_ui/status.ts";

/** A run's status; `reason` (why it failed, diverged or crashed) shows on hover. */
export function StatusBadge({ status, reason }: { status: string; reason?: string | null }) {
  const style = runStatusStyle(status);
  return (
    <span
      data-testid="run-status"
      data-status={status}
      title={reason ?? undefined}
      className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ${style}`}
    >
      {status === "running" ? <span aria-hidden className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" /> : null}
      {status}
    </span>
  );
}
