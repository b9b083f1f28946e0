import { z } from "zod";
import { type PanelView, ZPanel } from "../panels/panel-registry.ts";

export type { ConfigDiffPanelView } from "../panels/config-diff.ts";
export type { CurvesPanelView } from "../panels/curves.ts";
export type { PanelView, PanelViewOf } from "../panels/panel-registry.ts";
export type { ScalingPanelView } from "../panels/scaling.ts";
export type { ReportCell, TablePanelView } from "../panels/table.ts";

/** The most runs one report embeds: every panel reads all of them. */
export const MAX_REPORT_RUNS = 200;
export const MAX_REPORT_PANELS = 20;
export const MAX_REPORT_BODY = 100_000;

/** A report panel is configured exactly as a spec's `panels:` entry: one of the kinds in server/domain/panels/. */
export const ZReportPanel = ZPanel;
export type ReportPanel = z.infer<typeof ZReportPanel>;

export const ZReportTitle = z.string().trim().min(1, "title is empty").max(200, "title is longer than 200 characters");
export const ZReportBody = z.string().max(MAX_REPORT_BODY, `body is longer than ${MAX_REPORT_BODY} characters`);
export const ZReportPanels = z.array(ZReportPanel).max(MAX_REPORT_PANELS, `at most ${MAX_REPORT_PANELS} panels`);
export const ZReportRunIds = z
  .array(z.string().min(1).max(100))
  .max(MAX_REPORT_RUNS, `at most ${MAX_REPORT_RUNS} runs`);

export const ZCreateReportInput = z.object({
  title: ZReportTitle,
  body: ZReportBody.default(""),
  panels: ZReportPanels.default([]),
  runIds: ZReportRunIds.default([]),
});
export type CreateReportInput = z.input<typeof ZCreateReportInput>;

export const ZUpdateReportInput = z.object({
  title: ZReportTitle.optional(),
  body: ZReportBody.optional(),
  panels: ZReportPanels.optional(),
  runIds: ZReportRunIds.optional(),
});
export type UpdateReportInput = z.input<typeof ZUpdateReportInput>;

export const ZPanelsPreviewInput = z.object({ panels: ZReportPanels, runIds: ZReportRunIds });

/** A run as a report shows it: what the panels, the tables and the JSON export need, nothing about the project around it. */
export type ReportRun = {
  id: string;
  name: string;
  status: string;
  /** The swept values of the run's sweep cell. */
  params: Record<string, unknown>;
  /** The run's resolved configuration. */
  config: unknown;
  paramCount: number | null;
  totalFlops: number | null;
  wallClockSeconds: number | null;
  /** Final (last logged) and best (lowest) value of each metric the panels name. */
  metrics: Record<string, { final: number | null; best: number | null }>;
};

/** What a reader sees: computed from current data (live) or stored when a frozen report is published. */
export type ReportView = {
  /** The snapshot format (report-snapshot.ts) a frozen report stores; views read or parsed here always carry it. */
  version?: 1;
  title: string;
  body: string;
  frozen: boolean;
  /** ISO time the data was read. */
  capturedAt: string;
  publishedAt: string | null;
  runs: ReportRun[];
  /** Runs the report names that no longer exist (deleted since it was written). */
  missingRunCount: number;
  panels: PanelView[];
};
