"use client";

import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../../_trpc/react.tsx";
import { Command, EmptyState } from "../../_ui/empty-state.tsx";

export function WorkerList() {
  const trpc = useTRPC();
  const health = useQuery({ ...trpc.health.status.queryOptions(), refetchInterval: 5_000 });

  if (health.isPending)
    return <div aria-busy className="h-24 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;
  if (health.isError) {
    return (
      <div
        role="alert"
        className="rounded-xl border border-red-300 bg-red-50 p-4 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
      >
        Could not reach the server: {health.error.message}
      </div>
    );
  }
  const { database, workers } = health.data;
  return (
    <div className="space-y-6">
      <section
        aria-labelledby="database-heading"
        className="rounded-xl border border-slate-200 bg-white p-4 text-sm dark:border-slate-800 dark:bg-slate-900"
      >
        <h2 id="database-heading" className="font-medium">
          Database
        </h2>
        <p className="mt-1 text-slate-600 dark:text-slate-400" data-testid="database-status">
          {database.up
            ? `PostgreSQL ${database.serverVersion ?? ""} up, ${database.latencyMs ?? "?"} ms`
            : `Down: ${database.error ?? "unreachable"}`}
        </p>
      </section>
      {workers.list.length === 0 ? (
        <EmptyState title="No worker has checked in" testId="empty-workers">
          <p>Start one on this or any machine that reaches the database:</p>
          <Command>npx scaleboard worker</Command>
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-xl border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
          <table className="w-full text-left text-sm" data-testid="worker-table">
            <thead className="border-b border-slate-200 text-xs uppercase text-slate-500 dark:border-slate-800">
              <tr>
                <th className="px-4 py-2">Name</th>
                <th className="px-4 py-2">Host</th>
                <th className="px-4 py-2">PID</th>
                <th className="px-4 py-2">Slots</th>
                <th className="px-4 py-2">Last heartbeat</th>
                <th className="px-4 py-2">State</th>
              </tr>
            </thead>
            <tbody>
              {workers.list.map((worker) => (
                <tr key={worker.name} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
                  <td className="px-4 py-2 font-mono text-xs">{worker.name}</td>
                  <td className="px-4 py-2">{worker.host}</td>
                  <td className="px-4 py-2">{worker.pid}</td>
                  <td className="px-4 py-2">{worker.slots}</td>
                  <td className="px-4 py-2">{worker.heartbeatAt.toLocaleTimeString()}</td>
                  <td className="px-4 py-2">
                    <span className={worker.alive ? "text-emerald-600 dark:text-emerald-400" : "text-slate-500"}>
                      {worker.alive ? "alive" : "silent"}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
