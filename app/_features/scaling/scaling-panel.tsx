"use client";

import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import { useEffect, useId, useMemo, useRef, useState, type ReactNode } from "react";
import { scalingCsv } from "../../_lib/chart-csv.ts";
import { useTRPC } from "../../_trpc/react.tsx";
import { DEFAULT_METRIC } from "~/server/domain/project/default-metric.ts";
import {
  ChartSkeleton,
  download,
  fileSlug,
  PanelEmpty,
  PanelError,
  smallSelect,
  ToggleButton,
  ToolbarLabel,
  ToolButton,
} from "../charts/chart-frame.tsx";
import { seriesColor, withAlpha } from "../charts/chart-theme.ts";
import { useDarkMode } from "../charts/dark-mode.ts";
import { formatCount, formatDuration, formatFlops, formatMetric } from "../charts/format.ts";
import type { ChartController, PlotDataset } from "../charts/line-canvas.tsx";
import { readEnum, readNumber, useUrlState } from "../charts/url-state.ts";
import { ComputeOptimal } from "./compute-optimal.tsx";
import { ScalingSummary, type ScalingResult } from "./scaling-panel-summary.tsx";

const LineCanvas = dynamic(() => import("../charts/line-canvas.tsx"), {
  ssr: false,
  loading: () => <ChartSkeleton height={360} />,
});

const SCALING_X = ["params", "flops", "wallclock"] as const;
export type ScalingX = (typeof SCALING_X)[number];
const USES = ["final", "best"] as const;
const FRONTIERS = ["flops", "wallclock", "none"] as const;
const BUDGET_KINDS = ["flops", "seconds"] as const;

export const SCALING_X_LABEL: Record<ScalingX, string> = {
  params: "parameters",
  flops: "total FLOPs",
  wallclock: "wall-clock (s)",
};
/** The fitted law's variable: N for size, C for compute, T for time. */
export const SCALING_SYMBOL: Record<ScalingX, string> = { params: "N", flops: "C", wallclock: "T" };
export const SCALING_X_FORMAT: Record<ScalingX, (value: number) => string> = {
  params: (value) => formatCount(value),
  flops: formatFlops,
  wallclock: formatDuration,
};

export type ScalingSource = { experimentId: string } | { runIds: string[] };

type ScalingPanelProps = {
  source: ScalingSource;
  urlPrefix?: string;
  defaults?: { metric?: string; x?: ScalingX; fit?: boolean };
  /** Metric names to offer (from metrics.keys). */
  metricOptions?: string[];
  /** Changes when runs finish: the fit is computed again. */
  revision?: number;
  title?: string;
  testId?: string;
  /**
   * Wait before asking for the fit: its bootstrap keeps a server core busy for a while, and the
   * curves beside it should not queue behind it.
   */
  hold?: boolean;
};

const HEIGHT = 360;

/** Final (or best) loss against size, one point per run, with the power-law fit and its bootstrap band. */
export function ScalingPanel({
  source,
  urlPrefix = "s.",
  defaults = {},
  metricOptions = [],
  revision,
  title = "Scaling",
  testId = "scaling-panel",
  hold = false,
}: ScalingPanelProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const dark = useDarkMode();
  const headingId = useId();
  const { params, set } = useUrlState();
  const key = (name: string) => `${urlPrefix}${name}`;

  // The caller's default is the experiment's metric (its spec's, else its project's); val/loss without one.
  const metric = params.get(key("metric")) || defaults.metric || DEFAULT_METRIC.name;
  const use = readEnum(params, key("use"), USES, "final");
  const x = readEnum(params, key("x"), SCALING_X, defaults.x ?? "params");
  const logX = params.get(key("logx")) !== "0";
  const logY = params.get(key("logy")) !== "0";
  const extrapolateTo = readNumber(params, key("extrap"));
  const budgetValue = readNumber(params, key("budget"));
  const budgetKind = readEnum(params, key("bkind"), BUDGET_KINDS, "flops");
  const frontierKind = readEnum(params, key("frontier"), FRONTIERS, x === "wallclock" ? "wallclock" : "flops");
  const showFit = defaults.fit ?? true;

  const options = {
    metric,
    use,
    x,
    resamples: 200,
    ...(extrapolateTo !== null && extrapolateTo > 0 ? { extrapolateTo } : {}),
    ...(budgetValue !== null && budgetValue > 0 ? { budget: { kind: budgetKind, value: budgetValue } } : {}),
  };
  // The previous fit stays up while an extrapolation or budget question loads, not across a change of
  // metric or x (it would be read against the wrong axis).
  const sameAxes = <T,>(
    previous: T | undefined,
    previousQuery: { queryKey: readonly unknown[] } | undefined,
  ): T | undefined => {
    const before = (previousQuery?.queryKey[1] as { input?: { metric?: string; x?: string; use?: string } } | undefined)
      ?.input;
    return before?.metric === metric && before?.x === x && before?.use === use ? previous : undefined;
  };
  const viewQuery = trpc.scaling.view.queryOptions(
    !hold && "experimentId" in source ? { experimentId: source.experimentId, ...options } : skipToken,
    { placeholderData: sameAxes },
  );
  const compareQuery = trpc.scaling.compare.queryOptions(
    !hold && "runIds" in source && source.runIds.length > 0 ? { runIds: source.runIds, ...options } : skipToken,
    {
      placeholderData: sameAxes,
    },
  );
  const view = useQuery(viewQuery);
  const compare = useQuery(compareQuery);
  const result = "experimentId" in source ? view : compare;

  // New finished runs change the fit; refetch when the count the parent tracks moves.
  const lastRevision = useRef(revision);
  useEffect(() => {
    if (revision === lastRevision.current) return;
    lastRevision.current = revision;
    void queryClient.invalidateQueries({ queryKey: trpc.scaling.pathKey() });
  }, [revision, queryClient, trpc]);

  const controller = useRef<ChartController | null>(null);
  const data: ScalingResult | undefined = result.data;
  const datasets = useMemo(
    () => (data ? scalingDatasets(data, { dark, showFit, frontierKind, logX, logY }) : []),
    [data, dark, showFit, frontierKind, logX, logY],
  );

  const chartTitle = `${use} ${metric} vs ${SCALING_X_LABEL[x]}`;
  const exportCsv = () => {
    download(`${fileSlug(`scaling ${chartTitle}`)}.csv`, scalingCsv(datasets, x, metric), "text/csv");
  };
  const exportPng = () => {
    const png = controller.current?.toPng();
    if (png) download(`${fileSlug(`scaling ${chartTitle}`)}.png`, png);
  };

  let body: ReactNode;
  if (result.isError) body = <PanelError>Could not compute the scaling view: {result.error.message}</PanelError>;
  else if (!data) body = <ChartSkeleton height={HEIGHT} label="Computing the scaling fit" />;
  else if (data.runs.length === 0)
    body = (
      <PanelEmpty title="No finished runs to place yet" height={HEIGHT} testId="scaling-empty">
        <span>
          Each succeeded run with a {metric} value and a {SCALING_X_LABEL[x]} becomes a point here.
        </span>
        {data.skipped.length > 0 ? <span>{data.skipped.length} runs are not in the fit (see below).</span> : null}
      </PanelEmpty>
    );
  else
    body = (
      <LineCanvas
        datasets={datasets}
        dark={dark}
        logX={logX}
        logY={logY}
        xTitle={SCALING_X_LABEL[x]}
        yTitle={`${use} ${metric}`}
        formatX={SCALING_X_FORMAT[x]}
        formatY={formatMetric}
        xWindow={null}
        controller={controller}
        ariaLabel={`${chartTitle}: ${data.runs.length} runs in ${data.groups.length} sizes${data.fit.ok ? `, fitted exponent ${data.fit.alpha.toFixed(3)}` : ""}`}
        height={HEIGHT}
      />
    );
  const legend = data && data.runs.length > 0 ? <ScalingLegend datasets={datasets} /> : null;

  return (
    <section
      aria-labelledby={headingId}
      data-testid={testId}
      data-x={x}
      className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <div className="mb-3 flex flex-wrap items-center gap-x-3 gap-y-2">
        <h2 id={headingId} className="mr-auto font-medium">
          {title}
        </h2>
        <MetricInput
          value={metric}
          options={metricOptions}
          onCommit={(value) =>
            set({ [key("metric")]: value === (defaults.metric || DEFAULT_METRIC.name) ? null : value })
          }
        />
        <ToolbarLabel label="Use">
          <select
            className={smallSelect}
            value={use}
            onChange={(event) => set({ [key("use")]: event.target.value === "final" ? null : event.target.value })}
            data-testid="scaling-use"
          >
            <option value="final">final value</option>
            <option value="best">best value</option>
          </select>
        </ToolbarLabel>
        <ToolbarLabel label="x">
          <select
            className={smallSelect}
            value={x}
            data-testid="scaling-x"
            onChange={(event) =>
              set({ [key("x")]: event.target.value, [key("extrap")]: null, [key("frontier")]: null })
            }
          >
            {SCALING_X.map((axis) => (
              <option key={axis} value={axis}>
                {SCALING_X_LABEL[axis]}
              </option>
            ))}
          </select>
        </ToolbarLabel>
        <fieldset className="flex gap-1" aria-label="Axis scales">
          <ToggleButton pressed={logX} onClick={() => set({ [key("logx")]: logX ? "0" : null })}>
            log x
          </ToggleButton>
          <ToggleButton pressed={logY} onClick={() => set({ [key("logy")]: logY ? "0" : null })}>
            log y
          </ToggleButton>
        </fieldset>
        <ToolbarLabel label="Frontier">
          <select
            className={smallSelect}
            value={frontierKind}
            onChange={(event) => set({ [key("frontier")]: event.target.value })}
            data-testid="scaling-frontier"
          >
            <option value="flops">loss vs FLOPs</option>
            <option value="wallclock">loss vs wall-clock</option>
            <option value="none">none</option>
          </select>
        </ToolbarLabel>
      </div>

      {body}

      <div className="mt-2 flex flex-wrap items-center gap-2 text-xs text-slate-500 dark:text-slate-400">
        <span className="mr-auto">
          {result.isFetching ? "Updating… " : ""}
          {data
            ? `${data.runs.length} runs in ${data.groups.length} sizes${data.truncated ? " (the oldest 5000 runs)" : ""}`
            : ""}
        </span>
        <ToolButton onClick={exportPng} label="Export scaling PNG" disabled={!data || data.runs.length === 0}>
          PNG
        </ToolButton>
        <ToolButton onClick={exportCsv} label="Export scaling CSV" disabled={!data || data.runs.length === 0}>
          CSV
        </ToolButton>
      </div>

      {legend}
      {data ? (
        <ScalingSummary
          data={data}
          symbol={SCALING_SYMBOL[x]}
          formatX={SCALING_X_FORMAT[x]}
          xLabel={SCALING_X_LABEL[x]}
          extrapolateTo={extrapolateTo}
          onExtrapolate={(value) => set({ [key("extrap")]: value })}
          budget={budgetValue !== null ? { kind: budgetKind, value: budgetValue } : null}
          onBudget={(budget) =>
            set({
              [key("budget")]: budget?.value ?? null,
              [key("bkind")]: budget && budget.kind !== "flops" ? budget.kind : null,
            })
          }
        />
      ) : null}
      {"experimentId" in source ? (
        <ComputeOptimal
          experimentId={source.experimentId}
          metric={metric}
          hold={hold || !data}
          runs={use === "final" ? data?.runs : undefined}
        />
      ) : null}
    </section>
  );
}

function MetricInput({
  value,
  options,
  onCommit,
}: {
  value: string;
  options: string[];
  onCommit: (value: string) => void;
}) {
  const listId = useId();
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const commit = () => {
    const trimmed = text.trim();
    if (trimmed && trimmed !== value) onCommit(trimmed);
  };
  // The metrics the runs logged, as a list to choose from; free text only before that list is known.
  if (options.length > 0) {
    const choices = options.includes(value) ? options : [value, ...options];
    return (
      <ToolbarLabel label="Metric">
        <select
          className={`${smallSelect} max-w-48`}
          value={value}
          onChange={(event) => onCommit(event.target.value)}
          data-testid="scaling-metric"
        >
          {choices.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      </ToolbarLabel>
    );
  }
  return (
    <ToolbarLabel label="Metric">
      <input
        className={`${smallSelect} w-32`}
        value={text}
        list={listId}
        onChange={(event) => setText(event.target.value)}
        onBlur={commit}
        onKeyDown={(event) => {
          if (event.key === "Enter") commit();
        }}
        data-testid="scaling-metric"
      />
      <datalist id={listId}>
        {options.map((option) => (
          <option key={option} value={option} />
        ))}
      </datalist>
    </ToolbarLabel>
  );
}

function scalingDatasets(
  data: ScalingResult,
  options: { dark: boolean; showFit: boolean; frontierKind: (typeof FRONTIERS)[number]; logX: boolean; logY: boolean },
): PlotDataset[] {
  const { dark, showFit, frontierKind } = options;
  const fitColor = dark ? "#a5b4fc" : "#4f46e5";
  const groupColor = seriesColor(1, dark);
  const runColor = dark ? "rgba(203, 213, 225, 0.75)" : "rgba(51, 65, 85, 0.7)";
  const frontierColor = seriesColor(2, dark);
  const datasets: PlotDataset[] = [];
  const place = (point: { x: number; y: number | null }) =>
    (options.logX && point.x <= 0) || (options.logY && point.y !== null && point.y <= 0)
      ? { x: point.x, y: null }
      : point;

  if (showFit && data.fit.ok && data.curve.length > 0) {
    if (data.curve.every((point) => point.low !== null && point.high !== null)) {
      datasets.push({
        key: "fit:low",
        role: "band-low",
        seriesId: "fit",
        label: "fit band low",
        data: data.curve.map((point) => place({ x: point.x, y: point.low })),
        borderColor: "transparent",
        borderWidth: 0,
        pointRadius: 0,
        fill: false,
      });
      datasets.push({
        key: "fit:high",
        role: "band-high",
        seriesId: "fit",
        label: "fit band high",
        data: data.curve.map((point) => place({ x: point.x, y: point.high })),
        borderColor: "transparent",
        borderWidth: 0,
        pointRadius: 0,
        fill: "-1",
        backgroundColor: withAlpha(dark ? "#a5b4fc" : "#4f46e5", dark ? 0.18 : 0.12),
      });
    }
    datasets.push({
      key: "fit",
      role: "main",
      seriesId: "fit",
      label: "fit",
      data: data.curve.map((point) => place({ x: point.x, y: point.loss })),
      borderColor: fitColor,
      borderDash: [6, 4],
      borderWidth: 2,
      pointRadius: 0,
    });
  }

  const multiSeed = data.groups.some((group) => group.count > 1);
  if (multiSeed) {
    datasets.push({
      key: "size:min",
      role: "band-low",
      seriesId: "size",
      label: "size min",
      data: data.groups.map((group) => place({ x: group.x, y: group.min })),
      borderColor: "transparent",
      borderWidth: 0,
      pointRadius: 0,
      fill: false,
    });
    datasets.push({
      key: "size:max",
      role: "band-high",
      seriesId: "size",
      label: "size max",
      data: data.groups.map((group) => place({ x: group.x, y: group.max })),
      borderColor: "transparent",
      borderWidth: 0,
      pointRadius: 0,
      fill: "-1",
      backgroundColor: withAlpha(groupColor.startsWith("#") ? groupColor : "#f28e2b", dark ? 0.22 : 0.18),
    });
  }
  datasets.push({
    key: "size:mean",
    role: "main",
    seriesId: "size",
    label: "mean per size",
    data: data.groups.map((group) => place({ x: group.x, y: group.mean })),
    notes: data.groups.map(
      (group) =>
        `${group.count} run${group.count === 1 ? "" : "s"}, min ${formatMetric(group.min)}, max ${formatMetric(group.max)}, std ${formatMetric(group.std)}`,
    ),
    borderColor: groupColor,
    backgroundColor: groupColor,
    borderWidth: 1.5,
    pointRadius: 3,
  });

  const frontier = frontierKind === "none" ? [] : data.frontier[frontierKind];
  const onFrontier = new Set(frontier.map((run) => run.runId));
  datasets.push({
    key: "runs",
    role: "points",
    seriesId: "runs",
    label: "run",
    data: data.runs.map((run) => place({ x: run.x, y: run.loss })),
    notes: data.runs.map((run) => run.name),
    showLine: false,
    pointRadius: 3,
    pointHoverRadius: 5,
    borderColor: runColor,
    backgroundColor: runColor,
  });
  const frontierRuns = data.runs.filter((run) => onFrontier.has(run.id));
  if (frontierRuns.length > 0) {
    const sorted = frontierRuns.toSorted((a, b) => a.x - b.x);
    datasets.push({
      key: "frontier",
      role: "highlight",
      seriesId: "frontier",
      label: `frontier (${frontierKind === "flops" ? "loss vs FLOPs" : "loss vs wall-clock"})`,
      data: sorted.map((run) => place({ x: run.x, y: run.loss })),
      notes: sorted.map((run) => run.name),
      // The frontier is a staircase in cost; joined only when x is that cost.
      showLine:
        (frontierKind === "flops" && data.x === "flops") || (frontierKind === "wallclock" && data.x === "wallclock"),
      stepped: "before",
      pointRadius: 6,
      pointStyle: "circle",
      borderColor: frontierColor,
      backgroundColor: "transparent",
      borderWidth: 2,
    });
  }

  if (data.extrapolation) {
    const { x, loss, low, high } = data.extrapolation;
    datasets.push({
      key: "extrapolation",
      role: "highlight",
      seriesId: "fit",
      label: "extrapolation",
      data: [place({ x, y: loss })],
      notes: [low !== null && high !== null ? `95% [${formatMetric(low)}, ${formatMetric(high)}]` : null],
      showLine: false,
      pointRadius: 6,
      pointStyle: "rectRot",
      borderColor: fitColor,
      backgroundColor: fitColor,
    });
    if (low !== null && high !== null) {
      datasets.push({
        key: "extrapolation:interval",
        role: "raw",
        seriesId: "fit",
        label: "extrapolation interval",
        data: [place({ x, y: low }), place({ x, y: high })],
        borderColor: fitColor,
        borderWidth: 2,
        pointRadius: 0,
      });
    }
  }
  return datasets;
}

/** What the legend calls each drawn dataset; the lower edge of a band is drawn with the upper one. */
const LEGEND_NAMES: Record<string, string | null> = {
  run: "runs",
  "mean per size": "mean per size",
  "size max": "min–max across seeds",
  "size min": null,
  fit: "power-law fit",
  "fit band high": "95% band of the fit",
  "fit band low": null,
  extrapolation: "extrapolation",
  "extrapolation interval": "extrapolation interval",
};

/** A legend for every series drawn: runs, per-size mean and band, fit and band, frontier, extrapolation. */
function ScalingLegend({ datasets }: { datasets: PlotDataset[] }) {
  const entries = new Map<string, { color: string; dashed: boolean; band: boolean }>();
  for (const dataset of datasets) {
    const label = String(dataset.label ?? "");
    const name = label in LEGEND_NAMES ? LEGEND_NAMES[label] : label;
    if (!name || entries.has(name)) continue;
    const border = typeof dataset.borderColor === "string" ? dataset.borderColor : "";
    const fill = typeof dataset.backgroundColor === "string" ? dataset.backgroundColor : "";
    const band = border === "transparent" || border === "";
    entries.set(name, {
      color: band ? fill : border,
      dashed: Array.isArray(dataset.borderDash) && dataset.borderDash.length > 0,
      band,
    });
  }
  return (
    <ul
      className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600 dark:text-slate-400"
      data-testid="scaling-legend"
    >
      {[...entries.entries()].map(([name, entry]) => (
        <li key={name} className="flex items-center gap-1.5">
          <span
            aria-hidden="true"
            className="inline-block w-5"
            style={
              entry.band
                ? { height: 8, background: entry.color }
                : { height: 0, borderTop: `2px ${entry.dashed ? "dashed" : "solid"} ${entry.color}` }
            }
          />
          {name}
        </li>
      ))}
    </ul>
  );
}
