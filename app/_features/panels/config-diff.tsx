"use client";

import { diffConfigs, flattenRunConfig } from "~/server/domain/config/diff-configs.ts";
import { configDiffPanel } from "~/server/domain/panels/config-diff.ts";
import type { ReportRun } from "~/server/domain/report/report-schema.ts";
import { ConfigDiff, ConfigDiffTable } from "../runs/config-diff.tsx";
import { csvValue, type PanelCsvRow, type PanelRenderer } from "./panel-renderer.ts";

/** A report run's resolved config with its swept values (the report reads those from config.params). */
function configOf(run: ReportRun): unknown {
  const config = typeof run.config === "object" && run.config !== null && !Array.isArray(run.config) ? run.config : {};
  return { ...config, params: run.params };
}

/** What differs between the report's runs, by the compare page's rule. Run names are plain text: a report links nowhere else in the project. */
function ReportConfigDiff({ runs }: { runs: ReportRun[] }) {
  const diff = diffConfigs(runs.map(configOf));
  return (
    <section
      data-testid="report-config-diff"
      className="report-panel min-w-0 overflow-x-auto rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 className="mb-1 font-medium">What differs</h2>
      <p className="mb-2 text-xs text-slate-500 dark:text-slate-400">
        Every key of each run&apos;s resolved configuration; a dash marks a key the run does not have.
      </p>
      {runs.length < 2 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">One run: nothing to compare.</p>
      ) : (
        <ConfigDiffTable runs={runs} diff={diff} linkRuns={false} />
      )}
    </section>
  );
}

export const configDiffRenderer: PanelRenderer<"config-diff"> = {
  Report: ({ runs }) => <ReportConfigDiff runs={runs} />,
  wide: true,
  // Every key of every run's config: a reader of the CSV finds what differs without the page.
  csvRows: (_view, runs) =>
    runs.flatMap((run) =>
      [...flattenRunConfig(configOf(run)).values].map(
        ([key, value]): PanelCsvRow => ["config-diff", run.name, null, null, key, csvValue(value)],
      ),
    ),
  Fields: () => <span className="text-xs text-slate-500">{configDiffPanel.description}</span>,
  Experiment: ({ page }) => <ConfigDiff runs={page.selectedRuns} />,
};
