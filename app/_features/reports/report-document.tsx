"use client";

import type { ReactNode } from "react";
import type { PanelView, ReportRun, ReportView } from "~/server/domain/report/report-schema.ts";
import { download, fileSlug } from "../charts/chart-frame.tsx";
import { Button } from "../../_ui/ui.tsx";
import { panelRenderer } from "../panels/panel-renderers.ts";
import { reportCsv, reportJson } from "./report-export.ts";
import { ReportMarkdown } from "./report-markdown.tsx";
import "./report.css";

export function ReportPanels({ panels, runs }: { panels: PanelView[]; runs: ReportRun[] }) {
  if (panels.length === 0) return null;
  return (
    <div className="report-panels grid gap-4 xl:grid-cols-2" data-testid="report-panels">
      {panels.map((panel, index) => {
        const { Report, wide } = panelRenderer(panel.kind);
        return (
          // min-w-0: a grid item is otherwise as wide as its widest content, and a wide table would widen the page.
          // biome-ignore lint/suspicious/noArrayIndexKey: panels carry no id; a report shows them in its saved order and a panel's place is its identity.
          <div key={index} className={`min-w-0 ${wide ? "xl:col-span-2" : ""}`}>
            <Report view={panel} runs={runs} />
          </div>
        );
      })}
    </div>
  );
}

/**
 * A report as readers see it, with its exports. On the in-app page, `actions` holds the editor's buttons
 * and `beforeBody` what comes between the title and the notes (publishing and sharing).
 */
export function ReportDocument({
  view,
  actions,
  beforeBody,
}: {
  view: ReportView;
  actions?: ReactNode;
  beforeBody?: ReactNode;
}) {
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
          {view.frozen
            ? `Frozen: data as of ${captured.toLocaleString()}`
            : `Live: data as of ${captured.toLocaleString()}`}{" "}
          · {view.runs.length} run
          {view.runs.length === 1 ? "" : "s"}
          {view.missingRunCount > 0
            ? ` · ${view.missingRunCount} run${view.missingRunCount === 1 ? "" : "s"} deleted since the report was written`
            : ""}
        </p>
      </header>
      {beforeBody}
      <ReportMarkdown source={view.body} />
      <ReportPanels panels={view.panels} runs={view.runs} />
    </article>
  );
}
