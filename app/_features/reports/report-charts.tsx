"use client";

import dynamic from "next/dynamic";
import { ChartSkeleton, ToolButton } from "../charts/chart-frame.tsx";

/** The chart canvas, loaded after the page: a report's text and tables show first. */
export const ReportLineCanvas = dynamic(() => import("../charts/line-canvas.tsx"), {
  ssr: false,
  loading: () => <ChartSkeleton height={REPORT_CHART_HEIGHT} />,
});

export const REPORT_CHART_HEIGHT = 320;

/** A point a log axis cannot place becomes a gap rather than a broken chart. */
export function placeable(logX: boolean, logY: boolean) {
  return (point: { x: number; y: number | null }) =>
    (logX && point.x <= 0) || (logY && point.y !== null && point.y <= 0) ? { x: point.x, y: null } : point;
}

/** A report chart's frame: title, PNG export (on screen only), the chart and what it says below. */
export function ReportChartCard({
  title,
  testId,
  onPng,
  children,
  footer,
  data,
}: {
  title: string;
  testId: string;
  onPng: (() => void) | null;
  children: React.ReactNode;
  footer?: React.ReactNode;
  /** data-* attributes saying what the chart draws (browser tests read them). */
  data?: Record<`data-${string}`, string>;
}) {
  return (
    <section
      {...data}
      data-testid={testId}
      className="report-panel min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
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

/** A report legend's entry: a run or a group (whose detail counts its runs). */
export type LegendEntry = { label: string; color: string; detail?: string };

export function ChartLegend({ entries }: { entries: LegendEntry[] }) {
  return (
    <ul
      className="mt-2 flex flex-wrap gap-x-3 gap-y-1 text-xs text-slate-600 dark:text-slate-400"
      aria-label="Legend"
      data-testid="report-legend"
    >
      {entries.map((entry) => (
        <li key={entry.label} className="flex min-w-0 items-center gap-1 break-all">
          <span
            aria-hidden
            className="inline-block h-2 w-3 shrink-0 rounded-sm"
            style={{ backgroundColor: entry.color }}
          />
          {entry.label}
          {entry.detail ? <span className="text-slate-400"> ({entry.detail})</span> : null}
        </li>
      ))}
    </ul>
  );
}
