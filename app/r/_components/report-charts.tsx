"use client";

import dynamic from "next/dynamic";
import { useMemo, useRef } from "react";
import type { CurvesPanelView, ReportRun, ScalingPanelView } from "../../../server/domain/report/report-schema.ts";
import { ChartSkeleton, download, fileSlug, ToolButton } from "../../_components/charts/chart-frame.tsx";
import { seriesColor, useDarkMode } from "../../_components/charts/chart-theme.ts";
import { formatCount, formatDuration, formatFlops, formatMetric, formatTick } from "../../_components/charts/format.ts";
import type { ChartController, PlotDataset } from "../../_components/charts/line-canvas.tsx";
import { fitLine, type ScalingResult } from "../../_components/scaling-panel-summary.tsx";

const LineCanvas = dynamic(() => import("../../_components/charts/line-canvas.tsx"), { ssr: false, loading: () => <ChartSkeleton height={HEIGHT} /> });

const HEIGHT = 320;

const CURVE_X_LABEL: Record<string, string> = { step: "step", wallclock: "wall-clock (s)", flops: "FLOPs", samples: "samples", tokens: "tokens" };
const SCALING_X = {
  params: { label: "parameters", symbol: "N", format: (value: number) => formatCount(value) },
  flops: { label: "total FLOPs", symbol: "C", format: formatFlops },
  wallclock: { label: "wall-clock (s)", symbol: "T", format: formatDuration },
} as const;

/** A point a log axis cannot place becomes a gap rather than a broken chart. */
function placeable(logX: boolean, logY: boolean) {
  return (point: { x: number; y: number | null }) => ((logX && point.x <= 0) || (logY && point.y !== null && point.y <= 0) ? { x: point.x, y: null } : point);
}

function ChartCard({ title, testId, onPng, children, footer }: { title: string; testId: string; onPng: (() => void) | null; children: React.ReactNode; footer?: React.ReactNode }) {
  return (
    <section data-testid={testId} className="report-panel min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h2 className="font-medium">{title}</h2>
        {onPng ? (
          <span className="print:hidden">
            <ToolButton onClick={onPng} label={`Export ${title} as PNG`} testId="report-chart-png">
              PNG
            </ToolButton>
          </span>
        ) : null}
      </div>
      {children}
      {footer}
    </section>
  );
}

function Legend({ entries }: { entries: { label: string; color: string }[] }) {
  return (
    <ul className="mt-2 flex flex-wrap gap-x-3 gap-y-1 text-xs text-slate-600 dark:text-slate-400" aria-label="Legend">
      {entries.map((entry) => (
        <li key={entry.label} className="flex items-center gap-1">
          <span aria-hidden className="inline-block h-2 w-3 rounded-sm" style={{ backgroundColor: entry.color }} />
          {entry.label}
        </li>
      ))}
    </ul>
  );
}

export function curvesTitle(view: CurvesPanelView): string {
  return `${view.panel.metric} vs ${CURVE_X_LABEL[view.panel.x] ?? view.panel.x}`;
}

export function ReportCurvesChart({ view, runs }: { view: CurvesPanelView; runs: ReportRun[] }) {
  const dark = useDarkMode();
  const controller = useRef<ChartController | null>(null);
  const { panel } = view;
  const names = useMemo(() => new Map(runs.map((run) => [run.id, run.name])), [runs]);
  const datasets = useMemo((): PlotDataset[] => {
    const place = placeable(panel.logX, panel.logY);
    return view.series.map((series, index) => {
      const color = seriesColor(index, dark);
      return { key: series.runId, role: "main", seriesId: series.runId, label: names.get(series.runId) ?? series.runId, data: series.points.map(place), borderColor: color, backgroundColor: color };
    });
  }, [view.series, names, panel.logX, panel.logY, dark]);
  const title = curvesTitle(view);
  const points = view.series.reduce((sum, series) => sum + series.points.length, 0);
  const exportPng = () => {
    const png = controller.current?.toPng();
    if (png) download(`${fileSlug(title)}.png`, png);
  };
  return (
    <ChartCard title={title} testId="report-curves" onPng={points > 0 ? exportPng : null}>
      {points === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400">No {panel.metric} logged by these runs.</p>
      ) : (
        <>
          <LineCanvas
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
            ariaLabel={`${title}: ${view.series.length} runs`}
            height={HEIGHT}
          />
          <Legend entries={datasets.map((dataset) => ({ label: dataset.label ?? dataset.key, color: String(dataset.borderColor) }))} />
        </>
      )}
    </ChartCard>
  );
}

export function scalingTitle(view: ScalingPanelView): string {
  return `final ${view.panel.metric} vs ${SCALING_X[view.panel.x].label}`;
}

export function ReportScalingChart({ view }: { view: ScalingPanelView }) {
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
      sets.push({ key: "fit", role: "main", seriesId: "fit", label: "fit", data: scaling.curve.map((point) => place({ x: point.x, y: point.loss })), borderColor: fitColor, borderDash: [6, 4], borderWidth: 2, pointRadius: 0 });
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
  const best = scaling.groups.reduce<(typeof scaling.groups)[number] | null>((winner, group) => (winner === null || group.mean < winner.mean ? group : winner), null);
  const runNames = new Map(scaling.runs.map((run) => [run.id, run.name]));
  const bestNames = best ? best.runIds.map((id) => runNames.get(id) ?? id).join(", ") : "";
  const exportPng = () => {
    const png = controller.current?.toPng();
    if (png) download(`${fileSlug(`scaling ${title}`)}.png`, png);
  };
  return (
    <ChartCard
      title={title}
      testId="report-scaling"
      onPng={scaling.runs.length > 0 ? exportPng : null}
      footer={
        <div className="mt-3 space-y-1 text-sm">
          {line ? (
            <p data-testid="report-fit" className="rounded-md bg-slate-50 px-3 py-2 font-mono text-xs break-words dark:bg-slate-950">
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
              {scaling.skipped.length} run{scaling.skipped.length === 1 ? "" : "s"} not placed (not finished, or no {panel.metric} or size).
            </p>
          ) : null}
        </div>
      }
    >
      {scaling.runs.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400">No finished runs with {panel.metric} and a size to place.</p>
      ) : (
        <LineCanvas
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
          height={HEIGHT}
        />
      )}
    </ChartCard>
  );
}
