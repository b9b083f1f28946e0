"use client";

import type { TablePanelView } from "~/server/domain/panels/table.ts";
import type { ReportRun } from "~/server/domain/report/report-schema.ts";
import { TextInput } from "../../_ui/ui.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric, formatParam } from "../charts/format.ts";
import { SMALL_FIELD } from "./panel-fields.tsx";
import { csvValue, type PanelCsvRow, type PanelRenderer } from "./panel-renderer.ts";

const COLUMN_LABEL: Record<string, string> = {
  name: "Run",
  status: "Status",
  paramCount: "Params",
  totalFlops: "FLOPs",
  wallClockSeconds: "Wall-clock",
};

function formatCell(column: string, value: TablePanelView["rows"][number]["cells"][number]): string {
  if (value === null) return "—";
  if (typeof value !== "number") return formatParam(value);
  if (column === "paramCount") return formatCount(value);
  if (column === "totalFlops") return formatFlops(value);
  if (column === "wallClockSeconds") return formatDuration(value);
  return Number.isInteger(value) ? String(value) : formatMetric(value);
}

function ReportTable({ view, runs }: { view: TablePanelView; runs: ReportRun[] }) {
  const names = new Map(runs.map((run) => [run.id, run.name]));
  return (
    <section
      data-testid="report-table"
      className="report-panel min-w-0 overflow-x-auto rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 className="mb-2 font-medium">Runs</h2>
      <table className="w-full text-left text-sm">
        <thead className="border-b border-slate-200 text-xs uppercase text-slate-500 dark:border-slate-800 dark:text-slate-400">
          <tr>
            {view.columns.includes("name") ? null : (
              <th scope="col" className="px-2 py-1.5">
                Run
              </th>
            )}
            {view.columns.map((column) => (
              <th key={column} scope="col" className="px-2 py-1.5">
                {COLUMN_LABEL[column] ?? column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {view.rows.map((row) => (
            <tr key={row.runId} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
              {view.columns.includes("name") ? null : (
                <td className="px-2 py-1">{names.get(row.runId) ?? row.runId}</td>
              )}
              {view.columns.map((column, index) => (
                <td key={column} className="px-2 py-1 tabular-nums">
                  {formatCell(column, row.cells[index] ?? null)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export const tableRenderer: PanelRenderer<"table"> = {
  Report: ReportTable,
  wide: true,
  csvRows: (view, runs) => {
    const names = new Map(runs.map((run) => [run.id, run.name]));
    return view.rows.flatMap((row) =>
      view.columns.map(
        (column, index): PanelCsvRow => [
          "table",
          names.get(row.runId) ?? row.runId,
          null,
          null,
          column,
          csvValue(row.cells[index]),
        ],
      ),
    );
  },
  Fields: ({ panel, onChange }) => (
    <TextInput
      aria-label="Columns (comma-separated: name, status, paramCount, totalFlops, wallClockSeconds, a parameter such as model.width, or a metric)"
      className={`${SMALL_FIELD} min-w-72`}
      value={panel.columns.join(", ")}
      onChange={(event) =>
        onChange({
          ...panel,
          columns: event.target.value
            .split(",")
            .map((column) => column.trim())
            .filter(Boolean),
        })
      }
      data-testid="panel-columns"
    />
  ),
  // On the experiment page a table panel is no panel of its own: it picks the runs table's columns.
  Experiment: null,
};
