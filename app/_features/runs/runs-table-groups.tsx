"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTRPC } from "../../_trpc/react.tsx";
import { DataCell, DataRow, DataTable } from "../../_ui/data-table.tsx";
import { formatMetric, formatParam } from "../charts/format.ts";
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
      {
        experimentIds: input.experimentIds ?? [],
        groupBy,
        metric: input.metric,
        ...(input.metricGoal ? { metricGoal: input.metricGoal } : {}),
        filter: input.filter,
      },
      { placeholderData: keepPreviousData },
    ),
  );
  if (groups.isPending)
    return <div aria-busy="true" className="h-20 animate-pulse rounded-xl bg-slate-100 dark:bg-slate-800" />;
  if (groups.isError)
    return (
      <p role="alert" className="text-sm text-red-700 dark:text-red-300">
        Could not group the runs: {groups.error.message}
      </p>
    );
  const columns = [
    { label: groupBy },
    { label: "Runs", numeric: true },
    { label: `With ${metricName}`, numeric: true },
    { label: "Mean", numeric: true },
    { label: "Min", numeric: true },
    { label: "Max", numeric: true },
  ];
  return (
    <DataTable
      columns={columns}
      testId="runs-groups"
      caption={`Runs grouped by ${groupBy}: final ${metricName} across the runs of each value (seeds).`}
      captionVisible
    >
      {groups.data.groups.map((group) => (
        <DataRow key={String(group.value)} testId="runs-group">
          <DataCell>
            <button
              type="button"
              onClick={() => onPick(group.value)}
              className="rounded font-medium text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300"
              aria-label={`Show only runs with ${groupBy} = ${formatParam(group.value)}`}
            >
              {formatParam(group.value)}
            </button>
          </DataCell>
          <DataCell numeric>{group.count}</DataCell>
          <DataCell numeric>{group.metricCount}</DataCell>
          <DataCell numeric>{formatMetric(group.mean)}</DataCell>
          <DataCell numeric>{formatMetric(group.min)}</DataCell>
          <DataCell numeric>{formatMetric(group.max)}</DataCell>
        </DataRow>
      ))}
    </DataTable>
  );
}
