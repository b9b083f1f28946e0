import type { ReportView } from "../../../server/domain/report/report-schema.ts";
import { toCsv } from "../../_components/charts/chart-frame.tsx";

type CsvRow = (string | number | null)[];

const HEADER = ["panel", "kind", "series", "x", "y", "column", "value"];

function cell(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" || typeof value === "string") return value;
  return JSON.stringify(value);
}

/**
 * Every panel's data in one long-form CSV: curves and scaling points as (series, x, y),
 * tables and config diffs as (series = run, column, value). `panel` numbers panels from 1.
 */
export function reportCsv(view: ReportView): string {
  const names = new Map(view.runs.map((run) => [run.id, run.name]));
  const rows: CsvRow[] = [];
  view.panels.forEach((panelView, index) => {
    const panel = `${index + 1}`;
    switch (panelView.kind) {
      case "curves":
        for (const series of panelView.series) {
          for (const point of series.points) rows.push([panel, `curves ${panelView.panel.metric} vs ${panelView.panel.x}`, names.get(series.runId) ?? series.runId, point.x, point.y, null, null]);
        }
        break;
      case "scaling": {
        const { scaling } = panelView;
        const kind = `scaling ${scaling.metric} vs ${scaling.x}`;
        for (const run of scaling.runs) rows.push([panel, kind, run.name, run.x, run.loss, null, null]);
        for (const group of scaling.groups) rows.push([panel, kind, "mean per size", group.x, group.mean, "runs", group.count]);
        for (const point of scaling.curve) rows.push([panel, kind, "fit", point.x, point.loss, null, null]);
        if (scaling.fit.ok) for (const name of ["alpha", "A", "E", "r2"] as const) rows.push([panel, kind, "fit", null, null, name, scaling.fit[name]]);
        break;
      }
      case "table":
        for (const row of panelView.rows) {
          panelView.columns.forEach((column, columnIndex) => rows.push([panel, "table", names.get(row.runId) ?? row.runId, null, null, column, cell(row.cells[columnIndex])]));
        }
        break;
      case "config-diff":
        for (const run of view.runs) for (const [key, value] of Object.entries(run.params)) rows.push([panel, "config-diff", run.name, null, null, key, cell(value)]);
        break;
    }
  });
  return toCsv(HEADER, rows);
}

/** The whole report: its text, the runs with their configurations, and every panel's data and fit. */
export function reportJson(view: ReportView): string {
  return `${JSON.stringify(view, null, 2)}\n`;
}
