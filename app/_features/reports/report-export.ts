import type { ReportView } from "~/server/domain/report/report-schema.ts";
import { toCsv } from "../charts/chart-frame.tsx";
import { panelRenderer } from "../panels/panel-renderers.ts";

const HEADER = ["panel", "kind", "series", "x", "y", "column", "value"];

/**
 * Every panel's data in one long-form CSV: curves and scaling points as (series, x, y),
 * tables and config diffs as (series = run, column, value). `panel` numbers panels from 1.
 */
export function reportCsv(view: ReportView): string {
  return toCsv(
    HEADER,
    view.panels.flatMap((panel, index) =>
      panelRenderer(panel.kind)
        .csvRows(panel, view.runs)
        .map((row) => [`${index + 1}`, ...row]),
    ),
  );
}

/** The whole report: its text, the runs with their configurations, and every panel's data and fit. */
export function reportJson(view: ReportView): string {
  return `${JSON.stringify(view, null, 2)}\n`;
}
