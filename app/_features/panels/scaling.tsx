"use client";

import { useMemo, useRef } from "react";
import { type ScalingPanelView, ZScalingPanel } from "~/server/domain/panels/scaling.ts";
import { Check, Select } from "../../_ui/ui.tsx";
import { download, fileSlug } from "../charts/chart-frame.tsx";
import { seriesColor } from "../charts/chart-theme.ts";
import { useDarkMode } from "../charts/dark-mode.ts";
import { formatCount, formatDuration, formatFlops, formatMetric } from "../charts/format.ts";
import type { ChartController, PlotDataset } from "../charts/line-canvas.tsx";
import { placeable, REPORT_CHART_HEIGHT, ReportChartCard, ReportLineCanvas } from "../reports/report-charts.tsx";
import { ScalingPanel } from "../scaling/scaling-panel.tsx";
import { fitLine, type ScalingResult } from "../scaling/scaling-panel-summary.tsx";
import { MetricField, SMALL_FIELD } from "./panel-fields.tsx";
import type { PanelCsvRow, PanelRenderer } from "./panel-renderer.ts";

const SIZE_AXIS = ZScalingPanel.shape.x.unwrap();

const SCALING_X = {
  params: { label: "parameters", symbol: "N", format: (value: number) => formatCount(value) },
  flops: { label: "total FLOPs", symbol: "C", format: formatFlops },
  wallclock: { label: "wall-clock (s)", symbol: "T", format: formatDuration },
} as const;

function scalingTitle(view: ScalingPanelView): string {
  return `final ${view.panel.metric} vs ${SCALING_X[view.panel.x].label}`;
}

function ReportScalingChart({ view }: { view: ScalingPanelView }) {
  const dark = useDarkMode();
  const controller = useRef<ChartController | null>(null);
  const { panel, scaling } = view;
  const axis = SCALING_X[panel.x];
  const datasets = useMemo((): PlotDataset[] => {
    const place = placeable(true, true);
    const fitColor = dark ? "#a5b4fc" : "#4f46e5";
    const sizeColor = seriesColor(1, dark);
    const runColor = dark ? "rgba(203, 213, 225, 0.75)" : "rgba(51, 65, 85, 0.7)";
    const sets: PlotDataset[] = [];
    if (panel.fit && scaling.fit.ok && scaling.curve.length > 0) {
      sets.push({
        key: "fit",
        role: "main",
        seriesId: "fit",
        label: "fit",
        data: scaling.curve.map((point) => place({ x: point.x, y: point.loss })),
        borderColor: fitColor,
        borderDash: [6, 4],
        borderWidth: 2,
        pointRadius: 0,
      });
    }
    sets.push({
      key: "size:mean",
      role: "main",
      seriesId: "size",
      label: "mean per size",
      data: scaling.groups.map((group) => place({ x: group.x, y: group.mean })),
      notes: scaling.groups.map((group) => `${group.count} run${group.count === 1 ? "" : "s"}`),
      borderColor: sizeColor,
      backgroundColor: sizeColor,
      pointRadius: 3,
    });
    sets.push({
      key: "runs",
      role: "points",
      seriesId: "runs",
      label: "runs",
      data: scaling.runs.map((run) => place({ x: run.x, y: run.loss })),
      notes: scaling.runs.map((run) => run.name),
      showLine: false,
      borderColor: runColor,
      backgroundColor: runColor,
      pointRadius: 2.5,
    });
    return sets;
  }, [scaling, panel.fit, dark]);
  const title = scalingTitle(view);
  const line = panel.fit ? fitLine(scaling as ScalingResult, axis.symbol) : null;
  const best = scaling.groups.reduce<(typeof scaling.groups)[number] | null>(
    (winner, group) => (winner === null || group.mean < winner.mean ? group : winner),
    null,
  );
  const runNames = new Map(scaling.runs.map((run) => [run.id, run.name]));
  const bestNames = best ? best.runIds.map((id) => runNames.get(id) ?? id).join(", ") : "";
  const exportPng = () => {
    const png = controller.current?.toPng();
    if (png) download(`${fileSlug(`scaling ${title}`)}.png`, png);
  };
  return (
    <ReportChartCard
      title={title}
      testId="report-scaling"
      onPng={scaling.runs.length > 0 ? exportPng : null}
      footer={
        <div className="mt-3 space-y-1 text-sm">
          {line ? (
            <p
              data-testid="report-fit"
              className="rounded-md bg-slate-50 px-3 py-2 font-mono text-xs break-words dark:bg-slate-950"
            >
              {line}
            </p>
          ) : panel.fit ? (
            <p data-testid="report-fit-missing" className="text-xs text-slate-600 dark:text-slate-400">
              No fit: {scaling.fit.ok ? "" : scaling.fit.reason}
            </p>
          ) : null}
          {best ? (
            <p data-testid="report-best-size" className="text-xs text-slate-700 dark:text-slate-300">
              Lowest mean {panel.metric}: {formatMetric(best.mean)} at {axis.format(best.x)} {axis.label} ({bestNames}).
            </p>
          ) : null}
          {scaling.skipped.length > 0 ? (
            <p className="text-xs text-slate-500 dark:text-slate-400">
              {scaling.skipped.length} run{scaling.skipped.length === 1 ? "" : "s"} not placed (not finished, or no{" "}
              {panel.metric} or size).
            </p>
          ) : null}
        </div>
      }
    >
      {scaling.runs.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400">
          No finished runs with {panel.metric} and a size to place.
        </p>
      ) : (
        <ReportLineCanvas
          datasets={datasets}
          dark={dark}
          logX
          logY
          xTitle={axis.label}
          yTitle={`final ${panel.metric}`}
          formatX={axis.format}
          formatY={formatMetric}
          xWindow={null}
          controller={controller}
          ariaLabel={`${title}: ${scaling.runs.length} runs in ${scaling.groups.length} sizes${scaling.fit.ok ? `, fitted exponent ${scaling.fit.alpha.toFixed(3)}` : ""}`}
          height={REPORT_CHART_HEIGHT}
        />
      )}
    </ReportChartCard>
  );
}

export const scalingRenderer: PanelRenderer<"scaling"> = {
  Report: ReportScalingChart,
  wide: false,
  csvRows: ({ scaling }) => {
    const kind = `scaling ${scaling.metric} vs ${scaling.x}`;
    const rows: PanelCsvRow[] = [];
    for (const run of scaling.runs) rows.push([kind, run.name, run.x, run.loss, null, null]);
    for (const group of scaling.groups) rows.push([kind, "mean per size", group.x, group.mean, "runs", group.count]);
    for (const point of scaling.curve) rows.push([kind, "fit", point.x, point.loss, null, null]);
    if (scaling.fit.ok)
      for (const name of ["alpha", "A", "E", "r2"] as const)
        rows.push([kind, "fit", null, null, name, scaling.fit[name]]);
    return rows;
  },
  Fields: ({ panel, onChange }) => (
    <>
      <MetricField metric={panel.metric} onChange={(metric) => onChange({ ...panel, metric })} />
      <Select
        aria-label="Size axis"
        className={SMALL_FIELD}
        value={panel.x}
        onChange={(event) => onChange({ ...panel, x: SIZE_AXIS.parse(event.target.value) })}
      >
        {SIZE_AXIS.options.map((x) => (
          <option key={x}>{x}</option>
        ))}
      </Select>
      <Check label="power-law fit" checked={panel.fit} onChange={(fit) => onChange({ ...panel, fit })} />
    </>
  ),
  Experiment: ({ panel, page }) => (
    <ScalingPanel
      // A scaling panel asks for its fit once the curves are in (see ScalingPanel's hold).
      hold={page.panels.some((other) => other.kind === "curves") && !page.curvesDrawn}
      source={{ experimentId: page.experimentId }}
      defaults={{ metric: panel.metric, x: panel.x, fit: panel.fit }}
      metricOptions={page.metricOptions}
      revision={page.succeededCount}
    />
  ),
};
