import { z } from "zod";
import type { Db } from "../../db.ts";
import { querySeries } from "../metrics/query-series.ts";
import { scalingView } from "../scaling/scaling-view.ts";
import type { PanelView, ReportCell, ReportPanel, ReportRun, ReportView } from "./report-schema.ts";
import { REPORT_SNAPSHOT_VERSION } from "./report-snapshot.ts";

/** Points per run in a report's curves: enough for a page-wide chart, small enough to freeze. */
const CURVE_POINTS = 400;
/** Bootstrap resamples for a report's fit intervals (the scaling page uses 200; a report is read, not explored). */
const FIT_RESAMPLES = 100;

/** Table columns that are run fields; any other column is a swept parameter or, failing that, a metric's final value. */
const RUN_FIELDS = ["name", "status", "paramCount", "totalFlops", "wallClockSeconds"] as const;
type RunField = (typeof RUN_FIELDS)[number];
const isRunField = (column: string): column is RunField => (RUN_FIELDS as readonly string[]).includes(column);

/** The part of a run's stored config a report reads: its swept values (a tracked run's logged config). */
const ZConfigParams = z.object({ params: z.record(z.string(), z.unknown()) });

function paramsOf(config: unknown): Record<string, unknown> {
  const parsed = ZConfigParams.safeParse(config);
  return parsed.success ? parsed.data.params : {};
}

function metricKeysOf(panels: readonly ReportPanel[], runs: { params: Record<string, unknown> }[]): string[] {
  const keys = new Set<string>();
  for (const panel of panels) {
    if (panel.kind === "curves" || panel.kind === "scaling") keys.add(panel.metric);
    if (panel.kind === "table") {
      for (const column of panel.columns)
        if (!isRunField(column) && !runs.some((run) => column in run.params)) keys.add(column);
    }
  }
  return [...keys];
}

function cellOf(run: ReportRun, column: string): ReportCell {
  if (isRunField(column)) return run[column];
  if (column in run.params) {
    const value = run.params[column];
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
      ? value
      : value === undefined
        ? null
        : JSON.stringify(value);
  }
  return run.metrics[column]?.final ?? null;
}

/** The project's runs among `runIds`, in the order given; ids of deleted runs (or other projects' runs) are left out. */
async function readReportRuns(
  db: Db,
  projectId: string,
  runIds: readonly string[],
  panels: readonly ReportPanel[],
): Promise<ReportRun[]> {
  const unique = [...new Set(runIds)];
  if (unique.length === 0) return [];
  const loaded = await db.run.findMany({
    where: { id: { in: unique }, experiment: { projectId } },
    select: {
      id: true,
      name: true,
      status: true,
      config: true,
      paramCount: true,
      totalFlops: true,
      wallClockSeconds: true,
    },
  });
  const base = loaded.map((run) => ({ ...run, params: paramsOf(run.config) }));
  const keys = metricKeysOf(panels, base);
  const series = keys.length
    ? await db.metricSeries.findMany({
        where: { runId: { in: base.map((run) => run.id) }, key: { in: keys } },
        select: { runId: true, key: true, lastValue: true, minValue: true },
      })
    : [];
  const byId = new Map(
    base.map((run): [string, ReportRun] => [
      run.id,
      {
        id: run.id,
        name: run.name,
        status: run.status,
        params: run.params,
        config: run.config,
        paramCount: run.paramCount === null ? null : Number(run.paramCount),
        totalFlops: run.totalFlops,
        wallClockSeconds: run.wallClockSeconds,
        metrics: {},
      },
    ]),
  );
  for (const row of series) {
    const run = byId.get(row.runId);
    if (run) run.metrics[row.key] = { final: row.lastValue, best: row.minValue };
  }
  return unique.flatMap((id) => byId.get(id) ?? []);
}

async function readPanel(db: Db, panel: ReportPanel, runs: ReportRun[]): Promise<PanelView> {
  const runIds = runs.map((run) => run.id);
  switch (panel.kind) {
    case "curves": {
      if (runIds.length === 0) return { kind: "curves", panel, series: [] };
      const { series } = await querySeries(db, { runIds, key: panel.metric, x: panel.x, points: CURVE_POINTS });
      return {
        kind: "curves",
        panel,
        series: series.map((entry) => ({ runId: entry.runId, points: entry.points, downsampled: entry.downsampled })),
      };
    }
    case "scaling":
      return {
        kind: "scaling",
        panel,
        scaling: await scalingView(
          db,
          { runIds },
          { metric: panel.metric, x: panel.x, resamples: panel.fit ? FIT_RESAMPLES : 0 },
        ),
      };
    case "table":
      return {
        kind: "table",
        panel,
        columns: panel.columns,
        rows: runs.map((run) => ({ runId: run.id, cells: panel.columns.map((column) => cellOf(run, column)) })),
      };
    case "config-diff":
      return { kind: "config-diff", panel };
  }
}

/** Every panel's data over the project's runs among `runIds`, read now. */
export async function readPanelViews(
  db: Db,
  projectId: string,
  content: { panels: readonly ReportPanel[]; runIds: readonly string[] },
): Promise<{ runs: ReportRun[]; missingRunCount: number; panels: PanelView[] }> {
  const runs = await readReportRuns(db, projectId, content.runIds, content.panels);
  const panels: PanelView[] = [];
  for (const panel of content.panels) panels.push(await readPanel(db, panel, runs));
  return { runs, missingRunCount: new Set(content.runIds).size - runs.length, panels };
}

/**
 * The report as readers see it, read from current data. JSON-safe (dates as ISO strings, no bigints),
 * so the same value is what a frozen report stores as its snapshot.
 */
export async function readLiveReportView(
  db: Db,
  report: {
    projectId: string;
    title: string;
    body: string;
    panels: readonly ReportPanel[];
    runIds: readonly string[];
    frozen: boolean;
    publishedAt: Date | null;
  },
): Promise<ReportView> {
  const data = await readPanelViews(db, report.projectId, report);
  return {
    version: REPORT_SNAPSHOT_VERSION,
    title: report.title,
    body: report.body,
    frozen: report.frozen,
    capturedAt: new Date().toISOString(),
    publishedAt: report.publishedAt?.toISOString() ?? null,
    ...data,
  };
}
