import type { ComponentType } from "react";
import type { Panel, PanelKind, PanelOf, PanelViewOf } from "~/server/domain/panels/panel-registry.ts";
import type { ReportRun } from "~/server/domain/report/report-schema.ts";
import type { ChartRun } from "../charts/curves-panel.tsx";

/** A row of a report's long-form CSV after its panel number: kind, series, x, y, column, value. */
export type PanelCsvRow = [
  kind: string,
  series: string,
  x: number | null,
  y: number | null,
  column: string | null,
  value: string | number | null,
];

/** What the experiment page hands each of its panels. */
export type ExperimentPanelPage = {
  experimentId: string;
  /** Every panel the page shows, in order. */
  panels: readonly Panel[];
  /** The runs the charts plot: the selected ones, or the table's. */
  chartRuns: ChartRun[];
  /** The experiment's swept parameters (group and filter by them). */
  paramColumns: string[];
  /** How many runs are selected (some may be filtered out of the table). */
  selectedCount: number;
  /** The selected runs in the table, with their swept values. */
  selectedRuns: { id: string; name: string; values: Record<string, unknown> }[];
  metricOptions: string[];
  /** Runs finished so far: a new one refits the scaling law. */
  succeededCount: number;
  /** Whether the first curves have been drawn (the scaling fit waits for them). */
  curvesDrawn: boolean;
  onCurvesSettled: () => void;
};

/**
 * How the browser shows one panel kind (its server side is server/domain/panels/<kind>.ts): in a report
 * (live or frozen), in the report's CSV, in the report editor, and on the experiment page.
 */
export type PanelRenderer<Kind extends PanelKind> = {
  /** The panel in a report, from its view. */
  Report: ComponentType<{ view: PanelViewOf<Kind>; runs: ReportRun[] }>;
  /** Takes the report grid's full width (tables) rather than one column. */
  wide: boolean;
  /** The panel's data as the report's long-form CSV rows. */
  csvRows(view: PanelViewOf<Kind>, runs: ReportRun[]): PanelCsvRow[];
  /** The report editor's inputs for the panel's options (in one row); paramKeys: the chosen runs' parameters. */
  Fields: ComponentType<{ panel: PanelOf<Kind>; onChange: (panel: PanelOf<Kind>) => void; paramKeys: string[] }>;
  /** The panel on the experiment page; null where the kind shapes the page instead of adding a panel. */
  Experiment: ComponentType<{ panel: PanelOf<Kind>; index: number; page: ExperimentPanelPage }> | null;
};

/** A cell of the CSV: objects and arrays as JSON. */
export function csvValue(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" || typeof value === "string") return value;
  return JSON.stringify(value);
}
