"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTRPC } from "../_trpc/react.tsx";
import { formatMetric, formatParam } from "./charts/format.ts";
import type { RunsTableListInput } from "./runs-table-state.tsx";

type GroupsProps = {
  input: Omit<RunsTableListInput, "cursor">;
  groupBy: string;
  metricName: string;
  /** Narrow the table to one group's runs. */
  onPick: (value: string | number | boolean | null) => void;
};

/** Runs grouped by one swept parameter: count, and the final metric's mean, min and max across seeds. */
export function RunsTableGroups({ input, groupBy, metricName, onPick }: GroupsProps) {
  const trpc = useTRPC();
  const groups = useQuery(
    trpc.runsTable.groups.queryOptions(
      { experimentIds: input.experimentIds ?? [], groupBy, metric: input.metric, ...(input.metricGoal ? { metricGoal: input.metricGoal } : {}), filter: input.filter },
      { placeholderData: keepPreviousData },
    ),
  );
  if (groups.isPending) return <div aria-busy="true" className="h-20 animate-pulse rounded-xl bg-slate-100 dark:bg-slate-800" />;
  if (groups.isError)
    return (
      <p role="alert" className="text-sm text-red-700 dark:text-red-300">
        Could not group the runs: {groups.error.message}
      </p>
    );
  return (
    <div className="overflow-x-auto rounded-xl border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className="w-full text-left text-sm" data-testid="runs-groups">
        <caption className="px-3 pt-2 text-left text-xs text-slate-500 dark:text-slate-400">
          Runs grouped by {groupBy}: final {metricName} across the runs of each value (seeds).
        </caption>
        <thead className="border-b border-slate-200 text-xs uppercase text-slate-500 dark:border-slate-800 dark:text-slate-400">
          <tr>
            <th scope="col" className="px-3 py-2">
              {groupBy}
            </th>
            <th scope="col" className="px-3 py-2 text-right">Runs</th>
            <th scope="col" className="px-3 py-2 text-right">With {metricName}</th>
            <th scope="col" className="px-3 py-2 text-right">Mean</th>
            <th scope="col" className="px-3 py-2 text-right">Min</th>
            <th scope="col" className="px-3 py-2 text-right">Max</th>
          </tr>
        </thead>
        <tbody>
          {groups.data.groups.map((group) => (
            <tr key={String(group.value)} data-testid="runs-group" className="border-b border-slate-100 last:border-0 dark:border-slate-800">
              <td className="px-3 py-1.5">
                <button
                  type="button"
                  onClick={() => onPick(group.value)}
                  className="rounded font-medium text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300"
                  aria-label={`Show only runs with ${groupBy} = ${formatParam(group.value)}`}
                >
                  {formatParam(group.value)}
                </button>
              </td>
              <td className="px-3 py-1.5 text-right tabular-nums">{group.count}</td>
              <td className="px-3 py-1.5 text-right tabular-nums">{group.metricCount}</td>
              <td className="px-3 py-1.5 text-right tabular-nums">{formatMetric(group.mean)}</td>
              <td className="px-3 py-1.5 text-right tabular-nums">{formatMetric(group.min)}</td>
              <td className="px-3 py-1.5 text-right tabular-nums">{formatMetric(group.max)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
