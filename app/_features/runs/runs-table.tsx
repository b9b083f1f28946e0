"use client";

import { keepPreviousData, useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import {
  createColumnHelper,
  rowSelectionFeature,
  tableFeatures,
  useTable,
  type RowSelectionState,
  type Updater,
} from "@tanstack/react-table";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { useCallback, useMemo, useState, type ReactNode } from "react";
import type { AppRouter } from "~/server/api/root.ts";
import { useTRPC } from "../../_trpc/react.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric, formatParam } from "../charts/format.ts";
import { sortToParams, type RunsTableListInput, type SortColumn, type TableSort } from "./runs-table-state.tsx";
import { StatusBadge } from "./runs-table-status.tsx";
import { Button } from "../../_ui/ui.tsx";

// The badge lives on its own so pages showing it (compare, run) do not load the table's code.
export { StatusBadge } from "./runs-table-status.tsx";

export type RunsTableRow = inferRouterOutputs<AppRouter>["runsTable"]["list"]["rows"][number];
export type RunProgress = { progress: number | null; step: number | null };

const EMPTY_ROWS: RunsTableRow[] = [];

/** The table's pages, fetched 100 rows at a time with the server's keyset cursor. */
export function useRunsTableRows(input: Omit<RunsTableListInput, "cursor">) {
  const trpc = useTRPC();
  const query = useInfiniteQuery(
    trpc.runsTable.list.infiniteQueryOptions(input, {
      getNextPageParam: (page) => page.nextCursor ?? undefined,
      placeholderData: keepPreviousData,
    }),
  );
  const rows = useMemo(() => query.data?.pages.flatMap((page) => page.rows) ?? EMPTY_ROWS, [query.data]);
  const columns = query.data?.pages[0]?.columns ?? [];
  return { query, rows, columns };
}

function ProgressBar({ value, step }: { value: number; step: number | null }) {
  const percent = Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div className="mt-1 flex items-center gap-1.5" title={step !== null ? `step ${step}` : undefined}>
      <div
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-label="Progress"
        className="h-1.5 w-16 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
      >
        <div className="h-full bg-sky-500 transition-[width] duration-500" style={{ width: `${percent}%` }} />
      </div>
      <span className="text-[11px] tabular-nums text-slate-500">{percent}%</span>
    </div>
  );
}

const features = tableFeatures({ rowSelectionFeature });
const helper = createColumnHelper<typeof features, RunsTableRow>();

type SortTarget = { column: SortColumn; param?: string };

type RunsTableProps = {
  rows: RunsTableRow[];
  paramColumns: string[];
  metricName: string;
  sort: TableSort;
  onSort: (patch: { sort: string | null; dir: string | null }) => void;
  selected: string[];
  onSelect: (ids: string[]) => void;
  progress: ReadonlyMap<string, RunProgress>;
  canEdit: boolean;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  /** Hide columns the spec's table panel did not ask for (null: show all). */
  visibleColumns?: string[] | null;
};

export function RunsTable(props: RunsTableProps) {
  const {
    rows,
    paramColumns,
    metricName,
    sort,
    onSort,
    selected,
    onSelect,
    progress,
    canEdit,
    hasMore,
    loadingMore,
    onLoadMore,
    visibleColumns,
  } = props;
  const [editing, setEditing] = useState<string | null>(null);

  const rowSelection = useMemo<RowSelectionState>(
    () => Object.fromEntries(selected.map((id) => [id, true as const])),
    [selected],
  );
  const setRowSelection = (updater: Updater<RowSelectionState>) => {
    const next = typeof updater === "function" ? updater(rowSelection) : updater;
    onSelect(Object.keys(next).filter((id) => next[id]));
  };

  const sortHeader = useCallback(
    (label: string, target: SortTarget, align: "left" | "right" = "left"): (() => ReactNode) => {
      const active = sort.column === target.column && (target.column !== "param" || sort.param === target.param);
      return () => (
        <button
          type="button"
          onClick={() =>
            onSort(sortToParams({ ...target, direction: active && sort.direction === "asc" ? "desc" : "asc" }))
          }
          className={`inline-flex items-center gap-1 rounded font-semibold uppercase hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:text-slate-100 ${align === "right" ? "flex-row-reverse" : ""}`}
          aria-label={`Sort by ${label}${active ? (sort.direction === "asc" ? ", sorted ascending" : ", sorted descending") : ""}`}
        >
          {label}
          <span
            aria-hidden
            className={active ? "text-indigo-600 dark:text-indigo-400" : "text-slate-300 dark:text-slate-600"}
          >
            {active ? (sort.direction === "asc" ? "▲" : "▼") : "↕"}
          </span>
        </button>
      );
    },
    [sort, onSort],
  );

  const columns = useMemo(() => {
    const show = (id: string) =>
      !visibleColumns ||
      visibleColumns.includes(id) ||
      ((id === "finalMetric" || id === "bestMetric") && visibleColumns.includes(metricName));
    const list = [
      helper.display({
        id: "select",
        header: ({ table }) => (
          <input
            type="checkbox"
            aria-label="Select all loaded runs"
            className="h-4 w-4 accent-indigo-600"
            checked={table.getIsAllPageRowsSelected()}
            ref={(element) => {
              if (element)
                element.indeterminate = !table.getIsAllPageRowsSelected() && table.getIsSomePageRowsSelected();
            }}
            onChange={table.getToggleAllPageRowsSelectedHandler()}
          />
        ),
        cell: ({ row }) => (
          <input
            type="checkbox"
            aria-label={`Select ${row.original.name}`}
            className="h-4 w-4 accent-indigo-600"
            checked={row.getIsSelected()}
            onChange={() => undefined}
            onClick={row.getToggleSelectedHandler()}
          />
        ),
      }),
      helper.display({
        id: "name",
        header: sortHeader("Run", { column: "name" }),
        cell: ({ row }) => (
          <Link
            href={`/runs/${row.original.id}?experiment=${row.original.experimentId}`}
            className="whitespace-nowrap rounded font-medium text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300"
          >
            {row.original.name}
          </Link>
        ),
      }),
      helper.display({
        id: "status",
        header: sortHeader("Status", { column: "status" }),
        cell: ({ row }) => {
          const live = progress.get(row.original.id);
          return (
            <div>
              <StatusBadge
                status={row.original.status}
                reason={row.original.status === "running" ? null : row.original.error}
              />
              {row.original.status === "running" && live?.progress != null ? (
                <ProgressBar value={live.progress} step={live.step} />
              ) : null}
            </div>
          );
        },
      }),
      ...paramColumns
        .filter((name) => show(name) || show(`params.${name}`))
        .map((name) =>
          helper.display({
            id: `param:${name}`,
            header: sortHeader(name, { column: "param", param: name }, "right"),
            cell: ({ row }) => <span className="tabular-nums">{formatParam(row.original.params[name])}</span>,
            meta: { numeric: true },
          }),
        ),
      ...(show("paramCount")
        ? [
            helper.display({
              id: "paramCount",
              header: sortHeader("Params", { column: "paramCount" }, "right"),
              cell: ({ row }) => (
                <span className="tabular-nums" title={row.original.paramCount?.toLocaleString()}>
                  {formatCount(row.original.paramCount)}
                </span>
              ),
              meta: { numeric: true },
            }),
          ]
        : []),
      ...(show("totalFlops")
        ? [
            helper.display({
              id: "totalFlops",
              header: sortHeader("FLOPs", { column: "totalFlops" }, "right"),
              cell: ({ row }) => (
                <span className="tabular-nums" title={row.original.totalFlops?.toExponential(3)}>
                  {formatFlops(row.original.totalFlops)}
                </span>
              ),
              meta: { numeric: true },
            }),
          ]
        : []),
      ...(show("wallClockSeconds")
        ? [
            helper.display({
              id: "wallClockSeconds",
              header: sortHeader("Wall-clock", { column: "wallClockSeconds" }, "right"),
              cell: ({ row }) => <span className="tabular-nums">{formatDuration(row.original.wallClockSeconds)}</span>,
              meta: { numeric: true },
            }),
          ]
        : []),
      ...(show("finalMetric")
        ? [
            helper.display({
              id: "finalMetric",
              header: sortHeader(`Final ${metricName}`, { column: "finalMetric" }, "right"),
              cell: ({ row }) => <span className="tabular-nums">{formatMetric(row.original.finalMetric)}</span>,
              meta: { numeric: true },
            }),
          ]
        : []),
      ...(show("bestMetric")
        ? [
            helper.display({
              id: "bestMetric",
              header: sortHeader(`Best ${metricName}`, { column: "bestMetric" }, "right"),
              cell: ({ row }) => <span className="tabular-nums">{formatMetric(row.original.bestMetric)}</span>,
              meta: { numeric: true },
            }),
          ]
        : []),
      ...(show("backend")
        ? [helper.display({ id: "backend", header: () => "Backend", cell: ({ row }) => row.original.backend ?? "—" })]
        : []),
      ...(show("workerName")
        ? [
            helper.display({
              id: "workerName",
              header: () => "Worker",
              cell: ({ row }) => <span className="whitespace-nowrap">{row.original.workerName ?? "—"}</span>,
            }),
          ]
        : []),
      helper.display({
        id: "notes",
        header: () => "Tags / notes",
        cell: ({ row }) =>
          editing === row.original.id ? (
            <AnnotationEditor row={row.original} onDone={() => setEditing(null)} />
          ) : (
            <Annotation row={row.original} canEdit={canEdit} onEdit={() => setEditing(row.original.id)} />
          ),
      }),
    ];
    return list;
  }, [paramColumns, metricName, sortHeader, progress, canEdit, editing, visibleColumns]);

  const table = useTable({
    features,
    columns,
    data: rows,
    getRowId: (row) => row.id,
    state: { rowSelection },
    onRowSelectionChange: setRowSelection,
    enableRowSelection: true,
  });

  const ariaSort = (columnId: string): "ascending" | "descending" | undefined => {
    const id = sort.column === "param" ? `param:${sort.param}` : sort.column;
    return id === columnId ? (sort.direction === "asc" ? "ascending" : "descending") : undefined;
  };

  return (
    <div>
      <div className="overflow-x-auto rounded-xl border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <table className="w-full text-left text-sm" data-testid="runs-table">
          <thead className="border-b border-slate-200 text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const numeric = (header.column.columnDef.meta as { numeric?: boolean } | undefined)?.numeric;
                  return (
                    <th
                      key={header.id}
                      scope="col"
                      aria-sort={ariaSort(header.column.id)}
                      className={`whitespace-nowrap px-3 py-2 font-semibold uppercase ${numeric ? "text-right" : ""}`}
                    >
                      {header.isPlaceholder ? null : <table.FlexRender header={header} />}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr
                key={row.id}
                data-testid="run-row"
                data-run-id={row.id}
                data-status={row.original.status}
                className={`border-b border-slate-100 align-top last:border-0 dark:border-slate-800 ${row.getIsSelected() ? "bg-indigo-50/60 dark:bg-indigo-950/40" : ""}`}
              >
                {row.getAllCells().map((cell) => {
                  const numeric = (cell.column.columnDef.meta as { numeric?: boolean } | undefined)?.numeric;
                  return (
                    <td key={cell.id} className={`px-3 py-2 ${numeric ? "text-right" : ""}`}>
                      <table.FlexRender cell={cell} />
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {hasMore ? (
        <div className="mt-2 text-center">
          <Button variant="secondary" onClick={onLoadMore} disabled={loadingMore} data-testid="runs-load-more">
            {loadingMore ? "Loading…" : "Load more runs"}
          </Button>
        </div>
      ) : null}
    </div>
  );
}

function Annotation({ row, canEdit, onEdit }: { row: RunsTableRow; canEdit: boolean; onEdit: () => void }) {
  const empty = row.tags.length === 0 && !row.notes;
  return (
    <div className="flex min-w-40 items-start gap-2">
      <div className="min-w-0 flex-1">
        {row.tags.length > 0 ? (
          <ul className="flex flex-wrap gap-1" aria-label="Tags">
            {row.tags.map((tag) => (
              <li
                key={tag}
                className="rounded bg-indigo-50 px-1.5 py-0.5 text-[11px] text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200"
              >
                {tag}
              </li>
            ))}
          </ul>
        ) : null}
        {row.notes ? (
          <p className="mt-0.5 line-clamp-2 max-w-56 text-xs text-slate-600 dark:text-slate-400">{row.notes}</p>
        ) : null}
        {empty && !canEdit ? <span className="text-slate-400">—</span> : null}
      </div>
      {canEdit ? (
        <button
          type="button"
          onClick={onEdit}
          aria-label={`Edit tags and notes of ${row.name}`}
          className="rounded px-1 text-xs text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300"
        >
          {empty ? "Add" : "Edit"}
        </button>
      ) : null}
    </div>
  );
}

function AnnotationEditor({ row, onDone }: { row: RunsTableRow; onDone: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [tags, setTags] = useState(row.tags.join(", "));
  const [notes, setNotes] = useState(row.notes ?? "");
  const annotate = useMutation(
    trpc.runsTable.annotate.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.runsTable.pathKey() });
        onDone();
      },
    }),
  );
  return (
    <form
      className="flex min-w-56 flex-col gap-1"
      onSubmit={(event) => {
        event.preventDefault();
        annotate.mutate({
          runId: row.id,
          tags: tags
            .split(",")
            .map((tag) => tag.trim())
            .filter(Boolean),
          notes: notes.trim() ? notes : null,
        });
      }}
      onKeyDown={(event) => {
        if (event.key === "Escape") onDone();
      }}
    >
      <input
        // biome-ignore lint/a11y/noAutofocus: the editor opens when the user clicks "edit"; focus follows that click.
        autoFocus
        aria-label={`Tags of ${row.name} (comma-separated)`}
        placeholder="tags, comma-separated"
        className="rounded border border-slate-300 bg-white px-2 py-1 text-xs dark:border-slate-700 dark:bg-slate-950"
        value={tags}
        onChange={(event) => setTags(event.target.value)}
      />
      <textarea
        aria-label={`Notes on ${row.name}`}
        placeholder="notes"
        rows={2}
        className="rounded border border-slate-300 bg-white px-2 py-1 text-xs dark:border-slate-700 dark:bg-slate-950"
        value={notes}
        onChange={(event) => setNotes(event.target.value)}
      />
      <div className="flex gap-1">
        <Button type="submit" className="px-2! py-0.5! text-xs!" disabled={annotate.isPending}>
          Save
        </Button>
        <Button variant="secondary" className="px-2! py-0.5! text-xs!" onClick={onDone}>
          Cancel
        </Button>
      </div>
      {annotate.error ? (
        <p role="alert" className="text-xs text-red-700 dark:text-red-300">
          {annotate.error.message}
        </p>
      ) : null}
    </form>
  );
}
