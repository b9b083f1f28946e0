"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useEffect, useMemo, useRef, useState } from "react";
import type { AppRouter } from "~/server/api/root.ts";
import { useTRPC } from "../../_trpc/react.tsx";
import { Button } from "../../_ui/ui.tsx";
import { ToggleButton } from "../charts/chart-frame.tsx";
import { chartTheme } from "../charts/chart-theme.ts";
import { useDarkMode } from "../charts/dark-mode.ts";
import { formatMetric } from "../charts/format.ts";
import { useUrlState } from "../charts/url-state.ts";
import { MAX_FILTER_RUN_IDS } from "../runs/runs-table-state.tsx";
import { type Brush, buildAxes, runsInBrushes } from "./axes.ts";
import { formatBrushes, parseBrushes } from "./brush-url.ts";
import { ParallelCoordinates, rampColor } from "./parallel-coordinates.tsx";

type Sweep = inferRouterOutputs<AppRouter>["hyperparameters"]["sweep"];
type Importance = Sweep["importance"];

type Props = {
  experimentId: string;
  metric: { name: string; goal: "min" | "max" };
  /** Changes as runs finish: the view reloads the sweep then. */
  succeededCount: number;
  /** The runs inside every brushed range, or null when nothing is brushed. */
  onRunFilter: (runIds: string[] | null) => void;
};

/**
 * The hyperparameter view of an experiment's sweep: parallel coordinates over the swept parameters and
 * the metric (brushing filters the runs table) and each parameter's importance for the metric. The
 * brushes live in the URL (`brush=`, brush-url.ts): a reload or a shared link filters the same runs.
 */
export function HyperparameterView({ experimentId, metric, succeededCount, onRunFilter }: Props) {
  const trpc = useTRPC();
  const [use, setUse] = useState<"final" | "best">("final");
  const sweep = useQuery(
    trpc.hyperparameters.sweep.queryOptions(
      { experimentId, metric: metric.name, metricGoal: metric.goal, use },
      { placeholderData: keepPreviousData },
    ),
  );
  const { refetch } = sweep;
  const seenCount = useRef(succeededCount);
  useEffect(() => {
    if (seenCount.current === succeededCount) return;
    seenCount.current = succeededCount;
    void refetch();
  }, [succeededCount, refetch]);

  const { params, set } = useUrlState();
  const brushText = params.get("brush");
  const data = sweep.data;
  const metricLabel = `${use === "final" ? "final" : "best"} ${metric.name}`;
  const points = useMemo(() => data?.runs ?? [], [data]);
  const axes = useMemo(
    () => (data ? buildAxes(data.parameters, points, metricLabel) : []),
    [data, points, metricLabel],
  );
  // Read against the drawn axes: until the sweep loads nothing is brushed, then the URL's ranges are.
  const brushes = useMemo(() => parseBrushes(brushText, axes, metric.name), [brushText, axes, metric.name]);
  const setBrushes = (next: ReadonlyMap<string, Brush>) => set({ brush: formatBrushes(next, axes, metric.name) });
  const inside = useMemo(() => runsInBrushes(points, axes, brushes), [points, axes, brushes]);
  const insideSet = useMemo(() => new Set(inside), [inside]);

  // Tell the page only when the set of runs changes (a new array each render would refetch the table).
  const filterKey = brushes.size > 0 ? inside.join(",") : null;
  const reported = useRef<string | null>(null);
  useEffect(() => {
    if (reported.current === filterKey) return;
    reported.current = filterKey;
    onRunFilter(filterKey === null ? null : filterKey === "" ? [] : filterKey.split(","));
  }, [filterKey, onRunFilter]);
  // Leaving the page (or the section disappearing) lifts the table filter.
  useEffect(() => () => onRunFilter(null), [onRunFilter]);

  if (sweep.isError)
    return (
      <p role="alert" className="text-sm text-red-700 dark:text-red-300">
        Could not load the sweep&apos;s hyperparameters: {sweep.error.message}
      </p>
    );
  if (!data) return <div aria-busy="true" className="h-72 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;
  if (data.parameters.length === 0 || data.runs.length < 2) return null;

  const setBrush = (key: string, brush: Brush | null) => {
    const next = new Map(brushes);
    if (brush) next.set(key, brush);
    else next.delete(key);
    setBrushes(next);
  };

  return (
    <section
      aria-labelledby="hyperparameters-heading"
      className="min-w-0 space-y-4 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
      data-testid="hyperparameters"
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="hyperparameters-heading" className="text-base font-semibold">
          Hyperparameters
        </h2>
        <fieldset className="flex items-center gap-1" aria-label="Metric value">
          <ToggleButton pressed={use === "final"} onClick={() => setUse("final")}>
            Final
          </ToggleButton>
          <ToggleButton pressed={use === "best"} onClick={() => setUse("best")}>
            Best
          </ToggleButton>
        </fieldset>
      </div>

      <div className="space-y-2">
        <p className="text-xs text-slate-600 dark:text-slate-400">
          One line per run across its swept values and its {metricLabel}. Drag along an axis to keep the runs in a range
          (the runs table follows); click an axis to clear its range.
        </p>
        <ParallelCoordinates
          axes={axes}
          points={points}
          goal={data.goal}
          brushes={brushes}
          inBrushes={insideSet}
          onBrush={setBrush}
        />
        <MetricLegend runs={data.runs} goal={data.goal} label={metricLabel} />
        <BrushStatus
          brushed={brushes.size}
          inside={inside.length}
          total={points.length}
          onClear={() => setBrushes(new Map())}
        />
        {data.totalRuns > data.runs.length ? (
          <p className="text-xs text-amber-800 dark:text-amber-300">
            Showing the first {data.runs.length.toLocaleString()} of {data.totalRuns.toLocaleString()} runs.
          </p>
        ) : null}
        {data.omittedParameters > 0 ? (
          <p className="text-xs text-amber-800 dark:text-amber-300">
            {data.omittedParameters} more parameters are not drawn (at most {data.parameters.length}).
          </p>
        ) : null}
      </div>

      <ImportanceList importance={data.importance} label={metricLabel} />
    </section>
  );
}

function MetricLegend({ runs, goal, label }: { runs: Sweep["runs"]; goal: "min" | "max"; label: string }) {
  const dark = useDarkMode();
  const values = runs.flatMap((run) => (run.value !== null && Number.isFinite(run.value) ? [run.value] : []));
  const missing = runs.length - values.length;
  if (values.length === 0)
    return <p className="text-xs text-slate-600 dark:text-slate-400">No run has a {label} value yet.</p>;
  const best = goal === "min" ? Math.min(...values) : Math.max(...values);
  const worst = goal === "min" ? Math.max(...values) : Math.min(...values);
  const stops = [0, 0.25, 0.5, 0.75, 1].map((share) => rampColor(share, dark)).join(", ");
  return (
    <div
      className="flex flex-wrap items-center gap-2 text-xs text-slate-600 dark:text-slate-400"
      data-testid="pc-legend"
    >
      <span>Colour: {label}</span>
      <span>best {formatMetric(best)}</span>
      <span aria-hidden className="h-2 w-24 rounded" style={{ background: `linear-gradient(to right, ${stops})` }} />
      <span>worst {formatMetric(worst)}</span>
      {missing > 0 ? (
        <span style={{ color: chartTheme(dark).muted }}>
          · {missing} run{missing === 1 ? "" : "s"} without a value drawn grey, off the metric axis
        </span>
      ) : null}
    </div>
  );
}

function BrushStatus({
  brushed,
  inside,
  total,
  onClear,
}: {
  brushed: number;
  inside: number;
  total: number;
  onClear: () => void;
}) {
  if (brushed === 0) return null;
  return (
    <div
      className="flex flex-wrap items-center gap-2 rounded-lg bg-indigo-50 px-3 py-2 text-sm dark:bg-indigo-950/60"
      data-testid="pc-brush-status"
    >
      <span>
        {inside} of {total} runs inside the brushed range{brushed === 1 ? "" : "s"}; the runs table lists only these
        {inside > MAX_FILTER_RUN_IDS ? ` (its first ${MAX_FILTER_RUN_IDS})` : ""}.
      </span>
      <Button variant="secondary" onClick={onClear}>
        Clear brushes
      </Button>
    </div>
  );
}

function ImportanceList({ importance, label }: { importance: Importance; label: string }) {
  if (importance.kind === "cannot-say")
    return (
      <div data-testid="importance" className="space-y-1">
        <h3 className="text-sm font-semibold">Parameter importance for {label}</h3>
        <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="importance-cannot-say">
          Cannot say: {importance.runCount} run{importance.runCount === 1 ? "" : "s"}. {importance.reason}.
        </p>
      </div>
    );
  return (
    <div data-testid="importance" className="space-y-2">
      <h3 className="text-sm font-semibold">Parameter importance for {label}</h3>
      <p className="text-xs text-slate-600 dark:text-slate-400">
        Importance: the share of the metric&apos;s variance across {importance.runCount} succeeded runs that a
        parameter&apos;s values explain (ω², corrected for its number of values; each parameter on its own).
        Correlation: Spearman&apos;s rank correlation with the metric (+: the metric grows with the parameter).
      </p>
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm">
          <thead className="text-xs uppercase text-slate-500 dark:text-slate-400">
            <tr>
              <th scope="col" className="py-1 pr-3 font-semibold">
                Parameter
              </th>
              <th scope="col" className="py-1 pr-3 font-semibold">
                Importance
              </th>
              <th scope="col" className="py-1 pr-3 text-right font-semibold">
                Correlation
              </th>
              <th scope="col" className="py-1 text-right font-semibold">
                Values
              </th>
            </tr>
          </thead>
          <tbody>
            {importance.parameters.map((parameter) => (
              <tr
                key={parameter.name}
                data-testid="importance-row"
                data-parameter={parameter.name}
                className="border-t border-slate-100 dark:border-slate-800"
              >
                <td className="whitespace-nowrap py-1 pr-3 font-mono text-xs">{parameter.name}</td>
                <td className="py-1 pr-3">
                  {parameter.importance === null ? (
                    <span className="text-xs text-slate-500 dark:text-slate-400">
                      {parameter.distinctValues < 2 ? "does not vary" : "every run has its own value"}
                    </span>
                  ) : (
                    <div className="flex min-w-36 items-center gap-2">
                      <div className="h-2 w-24 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700">
                        <div
                          className="h-full bg-indigo-600 dark:bg-indigo-400"
                          style={{ width: `${Math.round(parameter.importance * 100)}%` }}
                        />
                      </div>
                      <span className="tabular-nums" data-testid="importance-value">
                        {Math.round(parameter.importance * 100)}%
                      </span>
                    </div>
                  )}
                </td>
                <td className="py-1 pr-3 text-right tabular-nums">
                  {parameter.correlation === null
                    ? parameter.kind === "categorical"
                      ? "categorical"
                      : "—"
                    : `${parameter.correlation > 0 ? "+" : parameter.correlation < 0 ? "−" : ""}${Math.abs(parameter.correlation).toFixed(2)}`}
                </td>
                <td className="py-1 text-right tabular-nums">
                  {parameter.distinctValues}
                  {parameter.groups < parameter.distinctValues ? ` (${parameter.groups} bins)` : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
