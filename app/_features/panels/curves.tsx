"use client";

import { useMemo, useRef } from "react";
import { fromChartValue } from "~/server/domain/metrics/chart-value.ts";
import { type CurvesPanelView, ZXAxis } from "~/server/domain/panels/curves.ts";
import type { ReportRun } from "~/server/domain/report/report-schema.ts";
import { Check, Select } from "../../_ui/ui.tsx";
import { download, fileSlug } from "../charts/chart-frame.tsx";
import { seriesColor } from "../charts/chart-theme.ts";
import { useDarkMode } from "../charts/dark-mode.ts";
import { CurvesPanel } from "../charts/curves-panel.tsx";
import { groupedDatasets, groupLabel } from "../charts/run-groups.ts";
import { formatMetric, formatTick } from "../charts/format.ts";
import type { ChartController, PlotDataset } from "../charts/line-canvas.tsx";
import { nonFiniteMarkers, plotPoint } from "../charts/series-points.ts";
import {
  ChartLegend,
  type LegendEntry,
  placeable,
  REPORT_CHART_HEIGHT,
  ReportChartCard,
  ReportLineCanvas,
} from "../reports/report-charts.tsx";
import { MetricField, SMALL_FIELD } from "./panel-fields.tsx";
import type { PanelCsvRow, PanelRenderer } from "./panel-renderer.ts";

const CURVE_X_LABEL: Record<string, string> = {
  step: "step",
  wallclock: "wall-clock (s)",
  flops: "FLOPs",
  samples: "samples",
  tokens: "tokens",
};

function curvesTitle(view: CurvesPanelView): string {
  const by = view.panel.groupBy ? `, by ${view.panel.groupBy}` : "";
  return `${view.panel.metric} vs ${CURVE_X_LABEL[view.panel.x] ?? view.panel.x}${by}`;
}

/** A run's value of a parameter: the key as written ("model.width"), else that dotted path in its parameters, else in its config. */
function runValue(run: ReportRun, key: string): unknown {
  if (key in run.params) return run.params[key];
  const walk = (root: unknown) =>
    key
      .split(".")
      .reduce<unknown>(
        (value, part) => (value && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined),
        root,
      );
  return walk(run.params) ?? walk(run.config);
}

/** The parameters a curves panel can group by: every key of the runs' parameters, nested ones as dotted paths. */
export function groupableKeys(runs: readonly ReportRun[]): string[] {
  const keys = new Set<string>();
  const visit = (value: unknown, path: string) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) visit(inner, path ? `${path}.${key}` : key);
    } else if (path) keys.add(path);
  };
  for (const run of runs) visit(run.params, "");
  return [...keys].sort();
}

function ReportCurvesChart({ view, runs }: { view: CurvesPanelView; runs: ReportRun[] }) {
  const dark = useDarkMode();
  const controller = useRef<ChartController | null>(null);
  const { panel } = view;
  const runById = useMemo(() => new Map(runs.map((run) => [run.id, run])), [runs]);
  const { datasets, legend } = useMemo((): { datasets: PlotDataset[]; legend: LegendEntry[] } => {
    const place = placeable(panel.logX, panel.logY);
    const groupBy = panel.groupBy;
    if (groupBy) {
      const members = view.series.flatMap((series) => {
        const run = runById.get(series.runId);
        const points = series.points.map((point) => plotPoint(point.x, point.y, point.interpolated));
        return run ? [{ group: groupLabel(groupBy, runValue(run, groupBy)), points }] : [];
      });
      const grouped = groupedDatasets(members, { smoothing: 0, dark });
      return {
        datasets: grouped.datasets.map((dataset) =>
          dataset.role === "marker" ? dataset : { ...dataset, data: dataset.data.map(place) },
        ),
        legend: grouped.legend,
      };
    }
    const markers: PlotDataset[] = [];
    const datasets = view.series.map((series, index): PlotDataset => {
      const color = seriesColor(index, dark);
      const label = runById.get(series.runId)?.name ?? series.runId;
      // NaN and infinities as gaps with a marker naming them (snapshots frozen before: plain gaps).
      const points = series.points.map((point) => plotPoint(point.x, point.y, point.interpolated));
      const marked = nonFiniteMarkers(points, { key: series.runId, seriesId: series.runId, label, color });
      if (marked) markers.push(marked);
      return {
        key: series.runId,
        role: "main",
        seriesId: series.runId,
        label,
        data: points.map(place),
        borderColor: color,
        backgroundColor: color,
      };
    });
    return {
      datasets: [...datasets, ...markers],
      legend: datasets.map((dataset) => ({ label: dataset.label ?? dataset.key, color: String(dataset.borderColor) })),
    };
  }, [view.series, runById, panel.logX, panel.logY, panel.groupBy, dark]);
  const title = curvesTitle(view);
  const points = view.series.reduce((sum, series) => sum + series.points.length, 0);
  const exportPng = () => {
    const png = controller.current?.toPng();
    if (png) download(`${fileSlug(title)}.png`, png);
  };
  return (
    <ReportChartCard
      title={title}
      testId="report-curves"
      onPng={points > 0 ? exportPng : null}
      data={{
        "data-group-by": panel.groupBy ?? "",
        "data-lines": String(datasets.filter((dataset) => dataset.role === "main").length),
        "data-bands": String(datasets.filter((dataset) => dataset.role === "band-high").length),
      }}
    >
      {points === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400">
          No {panel.metric} logged by these runs.
        </p>
      ) : (
        <>
          <ReportLineCanvas
            datasets={datasets}
            dark={dark}
            logX={panel.logX}
            logY={panel.logY}
            xTitle={CURVE_X_LABEL[panel.x] ?? panel.x}
            yTitle={panel.metric}
            formatX={formatTick}
            formatY={formatMetric}
            xWindow={null}
            controller={controller}
            ariaLabel={`${title}: ${panel.groupBy ? `${legend.length} groups of ${view.series.length} runs` : `${view.series.length} runs`}`}
            height={REPORT_CHART_HEIGHT}
          />
          <ChartLegend entries={legend} />
          {panel.groupBy ? (
            <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
              Each line is the mean of a group&apos;s runs; the band spans their lowest to highest value.
            </p>
          ) : null}
        </>
      )}
    </ReportChartCard>
  );
}

export const curvesRenderer: PanelRenderer<"curves"> = {
  Report: ReportCurvesChart,
  wide: false,
  csvRows: (view, runs) => {
    const names = new Map(runs.map((run) => [run.id, run.name]));
    const kind = `curves ${view.panel.metric} vs ${view.panel.x}`;
    return view.series.flatMap((series) =>
      series.points.map(
        // NaN and the infinities written as such; null (a snapshot frozen before they were kept apart) as empty.
        (point): PanelCsvRow => [
          kind,
          names.get(series.runId) ?? series.runId,
          point.x,
          fromChartValue(point.y),
          null,
          null,
        ],
      ),
    );
  },
  Fields: ({ panel, onChange, paramKeys }) => (
    <>
      <MetricField metric={panel.metric} onChange={(metric) => onChange({ ...panel, metric })} />
      <Select
        aria-label="x axis"
        className={SMALL_FIELD}
        value={panel.x}
        onChange={(event) => onChange({ ...panel, x: ZXAxis.parse(event.target.value) })}
      >
        {ZXAxis.options.map((x) => (
          <option key={x}>{x}</option>
        ))}
      </Select>
      <Check label="log x" checked={panel.logX} onChange={(logX) => onChange({ ...panel, logX })} />
      <Check label="log y" checked={panel.logY} onChange={(logY) => onChange({ ...panel, logY })} />
      <Select
        aria-label="Group by"
        className={SMALL_FIELD}
        value={panel.groupBy ?? ""}
        onChange={(event) => {
          const { groupBy: _dropped, ...rest } = panel;
          onChange(event.target.value ? { ...rest, groupBy: event.target.value } : rest);
        }}
        data-testid="panel-group-by"
      >
        <option value="">one line per run</option>
        {[...new Set([...(panel.groupBy ? [panel.groupBy] : []), ...paramKeys])].map((key) => (
          <option key={key} value={key}>
            by {key}
          </option>
        ))}
      </Select>
    </>
  ),
  Experiment: ({ panel, index, page }) => {
    // The first curves panel keeps the page's URL keys (metric, x, ...); later ones are prefixed c1., c2., ...
    const before = page.panels.slice(0, index).filter((other) => other.kind === "curves").length;
    const selected = page.selectedCount;
    return (
      <CurvesPanel
        runs={page.chartRuns}
        paramKeys={page.paramColumns}
        urlPrefix={before === 0 ? "" : `c${before}.`}
        defaults={{
          metric: panel.metric,
          x: panel.x,
          logX: panel.logX,
          logY: panel.logY,
          ...(panel.groupBy ? { groupBy: panel.groupBy } : {}),
        }}
        title={selected > 0 ? `Curves of ${selected} selected run${selected === 1 ? "" : "s"}` : undefined}
        onSettled={page.onCurvesSettled}
      />
    );
  },
};
