"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "../../_trpc/react.tsx";

const LABELS = {
  ok: { text: "All systems up", dot: "bg-emerald-500" },
  degraded: { text: "No worker running", dot: "bg-amber-500" },
  down: { text: "Database down", dot: "bg-red-500" },
} as const;

export function HealthBadge() {
  const trpc = useTRPC();
  const health = useQuery({ ...trpc.health.status.queryOptions(), refetchInterval: 5_000 });
  const state = health.isError ? "down" : (health.data?.status ?? null);
  const label = state ? LABELS[state] : { text: "Checking…", dot: "bg-slate-400" };
  return (
    <Link
      href="/workers"
      data-testid="health-badge"
      data-status={state ?? "loading"}
      title={label.text}
      className="flex items-center gap-2 rounded-full border border-slate-200 px-2 py-1 text-xs text-slate-600 hover:bg-slate-100 sm:px-3 dark:border-slate-700 dark:text-slate-300 dark:hover:bg-slate-800"
    >
      <span aria-hidden className={`h-2 w-2 shrink-0 rounded-full ${label.dot}`} />
      {/* A dot alone at phone width; screen readers always hear the words. */}
      <span className="sr-only sm:not-sr-only">{label.text}</span>
    </Link>
  );
}
