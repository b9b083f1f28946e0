"use client";

import type { LiveMode } from "./live-updates.ts";

/** "Live" while the event stream is connected; "Refreshing every 2 s" while polling instead. */
export function LiveBadge({ mode }: { mode: LiveMode }) {
  if (mode === "idle") return null;
  return (
    <span
      data-testid="live-badge"
      data-mode={mode}
      className="inline-flex items-center gap-1.5 rounded-full border border-emerald-300 px-2 py-0.5 text-xs font-medium text-emerald-800 dark:border-emerald-800 dark:text-emerald-300"
      title={
        mode === "live"
          ? "Following run events as they happen"
          : "The live stream is not connected: refreshing every 2 s"
      }
    >
      <span aria-hidden className="h-2 w-2 animate-pulse rounded-full bg-emerald-500" />
      {mode === "live" ? "Live" : "Refreshing every 2 s"}
    </span>
  );
}
