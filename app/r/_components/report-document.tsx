"use client";

import type { ReactNode } from "react";
import type { PanelView, ReportRun, ReportView, TablePanelView } from "../../../server/domain/report/report-schema.ts";
import { download, fileSlug } from "../../_components/charts/chart-frame.tsx";
import { formatCount, formatDuration, formatFlops, formatMetric, formatParam } from "../../_components/charts/format.ts";
import { Button } from "../../_components/ui.tsx";
import { ReportCurvesChart, ReportScalingChart } from "./report-charts.tsx";
import { reportCsv, reportJson } from "./report-export.ts";
import { ReportMarkdown } from "./report-markdown.tsx";
import "./report.css";

const COLUMN_LABEL: Record<string, string> = { name: "Run", status: "Status", paramCount: "Params", totalFlops: "FLOPs", wallClockSeconds: "Wall-clock" };

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
    <section data-testid="report-table" className="report-panel min-w-0 overflow-x-auto rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
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
              {view.columns.includes("name") ? null : <td className="px-2 py-1">{names.get(row.runId) ?? row.runId}</td>}
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

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What differs between the runs, keys as rows. Run names are plain text: a report links nowhere else in the project. */
function ReportConfigDiff({ runs }: { runs: ReportRun[] }) {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.params)))].sort();
  const differing = keys.filter((key) => runs.some((run) => !sameValue(run.params[key], runs[0]?.params[key])));
  return (
    <section data-testid="report-config-diff" className="report-panel min-w-0 overflow-x-auto rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <h2 className="mb-1 font-medium">What differs</h2>
      <p className="mb-2 text-xs text-slate-500 dark:text-slate-400">
        Swept parameters that differ between the runs ({keys.length - differing.length} shared by all are left out; the JSON export has every run&apos;s full configuration).
      </p>
      {differing.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">{runs.length < 2 ? "One run: nothing to compare." : "These runs share every swept value."}</p>
      ) : (
        <table className="w-full text-left text-xs">
          <thead>
            <tr className="border-b border-slate-200 dark:border-slate-800">
              <th scope="col" className="px-2 py-1.5 font-semibold">
                Key
              </th>
              {runs.map((run) => (
                <th key={run.id} scope="col" className="px-2 py-1.5 font-semibold whitespace-nowrap">
                  {run.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {differing.map((key) => (
              <tr key={key} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
                <th scope="row" className="px-2 py-1 font-mono font-normal">
                  {key}
                </th>
                {runs.map((run) => (
                  <td key={run.id} className="px-2 py-1 tabular-nums">
                    {run.params[key] === undefined ? <span className="text-slate-400">(none)</span> : formatParam(run.params[key])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Panel({ view, runs }: { view: PanelView; runs: ReportRun[] }) {
  switch (view.kind) {
    case "curves":
      return <ReportCurvesChart view={view} runs={runs} />;
    case "scaling":
      return <ReportScalingChart view={view} />;
    case "table":
      return <ReportTable view={view} runs={runs} />;
    case "config-diff":
      return <ReportConfigDiff runs={runs} />;
  }
}

export function ReportPanels({ panels, runs }: { panels: PanelView[]; runs: ReportRun[] }) {
  if (panels.length === 0) return null;
  return (
    <div className="report-panels grid gap-4 xl:grid-cols-2" data-testid="report-panels">
      {panels.map((panel, index) => (
        <div key={index} className={panel.kind === "table" || panel.kind === "config-diff" ? "xl:col-span-2" : ""}>
          <Panel view={panel} runs={runs} />
        </div>
      ))}
    </div>
  );
}

/** A report as readers see it, with its exports. `actions` holds the editor's buttons on the in-app page. */
export function ReportDocument({ view, actions }: { view: ReportView; actions?: ReactNode }) {
  const name = fileSlug(view.title);
  const captured = new Date(view.capturedAt);
  return (
    <article className="report-document space-y-6" data-testid="report-document">
      <header className="space-y-2">
        <div className="flex flex-wrap items-start justify-between gap-3">
          <h1 className="text-2xl font-semibold tracking-tight break-words" data-testid="report-title">
            {view.title}
          </h1>
          <div className="flex flex-wrap gap-2 print:hidden" data-testid="report-exports">
            {actions}
            <Button variant="secondary" onClick={() => download(`${name}.csv`, reportCsv(view), "text/csv")}>
              Download CSV
            </Button>
            <Button variant="secondary" onClick={() => download(`${name}.json`, reportJson(view), "application/json")}>
              Download JSON
            </Button>
            <Button variant="secondary" onClick={() => window.print()}>
              Print / PDF
            </Button>
          </div>
        </div>
        <p className="text-xs text-slate-500 dark:text-slate-400" data-testid="report-meta">
          {view.frozen ? `Frozen: data as of ${captured.toLocaleString()}` : `Live: data as of ${captured.toLocaleString()}`} · {view.runs.length} run
          {view.runs.length === 1 ? "" : "s"}
          {view.missingRunCount > 0 ? ` · ${view.missingRunCount} run${view.missingRunCount === 1 ? "" : "s"} deleted since the report was written` : ""}
        </p>
      </header>
      <ReportMarkdown source={view.body} />
      <ReportPanels panels={view.panels} runs={view.runs} />
    </article>
  );
}
