import { z } from "zod";
import { definePanel } from "./panel-definition.ts";

export const ZTablePanel = z.strictObject({ kind: z.literal("table"), columns: z.array(z.string().min(1)).min(1) });
export type TablePanel = z.infer<typeof ZTablePanel>;

/** A table cell: a run field, a swept value or a metric's final value; null where the run has none. */
export const ZReportCell = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type ReportCell = z.infer<typeof ZReportCell>;

/** A table as a report shows it (and a frozen report stores it): one row of cells per run. */
export const ZTablePanelView = z.object({
  kind: z.literal("table"),
  panel: ZTablePanel,
  columns: z.array(z.string()),
  rows: z.array(z.object({ runId: z.string(), cells: z.array(ZReportCell) })),
});
export type TablePanelView = z.infer<typeof ZTablePanelView>;

export const tablePanel = definePanel(ZTablePanel, ZTablePanelView, {
  kind: "table",
  label: "runs table",
  description: "one row per run with the columns it names: run fields, swept values, metrics' final values",
  create: (metric) => ({ kind: "table", columns: ["name", "paramCount", metric] }),
  describe: (panel) => `columns ${panel.columns.join(", ")}`,
});
