"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import { useCallback, useEffect, useId, useMemo, useRef, useState, type ReactNode } from "react";
import { curvesCsv } from "../../_lib/chart-csv.ts";
import { useTRPC } from "../../_trpc/react.tsx";
import { MetricSearch } from "../../_ui/ui.tsx";
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
} from "./chart-frame.tsx";
import { ChartLegend, ColourScaleKey } from "./chart-legend.tsx";
import { useDarkMode } from "./dark-mode.ts";
import { colourByOptions, colourByParam, defaultColourParam } from "./colour-by.ts";
import { formatCount, formatTick } from "./format.ts";
import {
  MAX_CHART_RUNS,
  POINTS_PER_RUN,
  defaultCurvesMetric,
  X_AXES,
  seriesUrl,
  takePreloadedSeries,
  type SeriesRequest,
  type XAxis,
} from "./series-request.ts";
import type { ChartController, XWindow } from "./line-canvas.tsx";
import {
  curveDatasets,
  missingPointsText,
  visibleDatasets,
  X_FORMATS,
  X_LABELS,
  type ChartRun,
} from "./curve-datasets.ts";
import { EarlyCurvesSlot } from "./early-curves/early-curves-slot.tsx";
import { seriesLine } from "./series-points.ts";
import { readEnum, readNumber, useUrlState } from "./url-state.ts";

const loadLineCanvas = () => import("./line-canvas.tsx");
const LineCanvas = dynamic(loadLineCanvas, { ssr: false, loading: () => <ChartSkeleton /> });

export { MAX_CHART_RUNS, X_AXES, type ChartRun, type XAxis };

export type CurvesDefaults = { metric?: string; x?: XAxis; logX?: boolean; logY?: boolean; groupBy?: string };

/** What the chart shows now: the compare page turns it into a report's curves panel. */
export type CurvesView = { metric: string; x: XAxis; logX: boolean; logY: boolean; groupBy: string | null };

type CurvesPanelProps = {
  title?: string;
  runs: ChartRun[];
  /** Swept parameters a group-by (and a colour-by) can use. */
  paramKeys?: string[];
  /** Prefix of this panel's keys in the query string, so two panels on a page keep their own state. */
  urlPrefix?: string;
  defaults?: CurvesDefaults;
  /** One metric, no metric picker (the run page draws one chart per key). */
  fixedMetric?: string;
  height?: number;
  testId?: string;
  /** Called once the first curves (or an empty or error state) are known: slower panels may start then. */
  onSettled?: () => void;
  /** Called with what the chart shows whenever it changes (metric, axes, grouping). */
  onViewChange?: (view: CurvesView) => void;
  /**
   * The early chart's script (early-curves/), where the page preloads this panel's first points: it
   * draws them while the page hydrates, then the panel's own chart draws over them.
   */
  earlyScript?: string | null;
};

function roundWindow(value: number): number {
  return Number(value.toPrecision(7));
}

export function CurvesPanel({
  title,
  runs,
  paramKeys = [],
  urlPrefix = "",
  defaults = {},
  fixedMetric,
  height = 320,
  testId = "curves-panel",
  onSettled,
  onViewChange,
  earlyScript = null,
}: CurvesPanelProps) {
  const trpc = useTRPC();
  const dark = useDarkMode();
  const headingId = useId();
  const { params, set } = useUrlState();
  const key = (name: string) => `${urlPrefix}${name}`;

  const plotted = useMemo(() => runs.slice(0, MAX_CHART_RUNS), [runs]);
  const runIds = plotted.map((run) => run.id);
  const keys = useQuery(
    trpc.metrics.keys.queryOptions(
      { runIds },
      { enabled: runIds.length > 0 && !fixedMetric, placeholderData: keepPreviousData },
    ),
  );
  const availableKeys = useMemo(() => keys.data?.keys.map((entry) => entry.key) ?? [], [keys.data]);
  // metrics.keys answers a page of keys: past it, the picker lists what a search finds.
  const [keySearch, setKeySearch] = useState("");
  const searching = keySearch.trim() !== "";
  const searched = useQuery(
    trpc.metrics.keys.queryOptions(
      { runIds, search: keySearch.trim() },
      { enabled: runIds.length > 0 && !fixedMetric && searching, placeholderData: keepPreviousData },
    ),
  );
  const pickerKeys = useMemo(
    () => (searching ? (searched.data?.keys.map((entry) => entry.key) ?? []) : availableKeys),
    [searching, searched.data, availableKeys],
  );
  const unlistedKeys = searching
    ? searched.data
      ? searched.data.total - searched.data.keys.length
      : 0
    : keys.data
      ? keys.data.total - keys.data.keys.length
      : 0;

  // Chart.js (the largest chunk) loads while the points are fetched, not after.
  useEffect(() => void loadLineCanvas(), []);

  const urlMetric = params.get(key("metric"));
  // Until the logged keys are known the default metric is asked for at once; it stays when logged.
  const metric =
    fixedMetric ?? urlMetric ?? defaultCurvesMetric(defaults.metric, keys.isSuccess ? availableKeys : null);
  const x = readEnum(params, key("x"), X_AXES, defaults.x ?? "step");
  const logX = params.has(key("logx")) ? params.get(key("logx")) === "1" : (defaults.logX ?? false);
  const logY = params.has(key("logy")) ? params.get(key("logy")) === "1" : (defaults.logY ?? false);
  const groupBy = params.has(key("group")) ? params.get(key("group")) || null : (defaults.groupBy ?? null);
  // Lines coloured by a parameter (colour-by.ts): the reader's choice (colorBy=model.width, or
  // colorBy=none for the palette), else past 20 lines the numeric parameter most swept. Runs only:
  // a group is already one line per setting.
  const colourOptions = useMemo(() => colourByOptions(paramKeys, plotted), [paramKeys, plotted]);
  const defaultColour = useMemo(() => defaultColourParam(paramKeys, plotted), [paramKeys, plotted]);
  const urlColour = params.get(key("colorBy"));
  const colorBy = groupBy
    ? null
    : urlColour === "none"
      ? null
      : urlColour
        ? colourOptions.includes(urlColour)
          ? urlColour
          : null
        : defaultColour;
  const colouring = useMemo(() => (colorBy ? colourByParam(colorBy, plotted, dark) : null), [colorBy, plotted, dark]);
  const xMin = readNumber(params, key("xmin"));
  const xMax = readNumber(params, key("xmax"));
  const xWindow: XWindow | null = xMin !== null && xMax !== null && xMin < xMax ? { min: xMin, max: xMax } : null;
  const zoomed = xWindow !== null;
  useEffect(() => {
    if (metric !== null) onViewChange?.({ metric, x, logX, logY, groupBy });
  }, [onViewChange, metric, x, logX, logY, groupBy]);

  // The slider moves the curve at once; the URL follows when it settles.
  const urlSmoothing = Math.min(0.99, Math.max(0, readNumber(params, key("smooth")) ?? 0));
  const [smoothing, setSmoothing] = useState(urlSmoothing);
  useEffect(() => setSmoothing(urlSmoothing), [urlSmoothing]);
  const smoothingTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const changeSmoothing = (value: number) => {
    setSmoothing(value);
    if (smoothingTimer.current) clearTimeout(smoothingTimer.current);
    smoothingTimer.current = setTimeout(() => set({ [key("smooth")]: value > 0 ? value : null }), 250);
  };

  // Series the legend hid, in the URL too (each id encoded, so a group value may hold a comma).
  const hiddenText = params.get(key("hide")) ?? "";
  const hidden = useMemo<ReadonlySet<string>>(
    () =>
      new Set(
        hiddenText
          .split(",")
          .filter(Boolean)
          .map((item) => decodeURIComponent(item)),
      ),
    [hiddenText],
  );
  const toggleHidden = (seriesId: string) => {
    const next = new Set(hidden);
    if (next.has(seriesId)) next.delete(seriesId);
    else next.add(seriesId);
    set({ [key("hide")]: [...next].map((item) => encodeURIComponent(item)).join(",") || null });
  };
  const controller = useRef<ChartController | null>(null);

  const seriesRequest: SeriesRequest = {
    runIds,
    key: metric ?? "",
    x,
    points: POINTS_PER_RUN,
    ...(xWindow ? { xMin: xWindow.min, xMax: xWindow.max } : {}),
    // Zoomed and smoothed: the server sends the EMA's state at the window's start (the settled weight, not every slider step).
    ...(xWindow && urlSmoothing > 0 ? { smoothing: urlSmoothing } : {}),
  };
  const seriesOptions = trpc.metrics.series.queryOptions(seriesRequest, {
    enabled: runIds.length > 0 && metric !== null,
    // Keep the old curves on screen while a zoom or live refresh loads, never across a change of
    // metric or x axis: they would be drawn against the wrong axis.
    placeholderData: (previous, previousQuery) => {
      const before = (previousQuery?.queryKey[1] as { input?: { key?: string; x?: string } } | undefined)?.input;
      return before?.key === metric && before?.x === x ? previous : undefined;
    },
  });
  // The first answer may be the one the page preloaded (series-request.ts); every other comes from metrics.series.
  const series = useQuery({
    ...seriesOptions,
    queryFn: (context) => takePreloadedSeries(seriesRequest) ?? seriesOptions.queryFn!(context),
  });

  // The early chart stays until this panel's chart has drawn, and only while it shows what was first asked for.
  const [liveDrawn, setLiveDrawn] = useState(false);
  const markLiveDrawn = useCallback(() => setLiveDrawn(true), []);
  const [earlyUrl] = useState(() => seriesUrl(seriesRequest));

  // The wire form is two arrays per run (see pack-series.ts); Chart.js wants {x, y} points, with a
  // zoom window's neighbours outside it so that every line crossing it is drawn to its edges.
  const lines = useMemo(
    () => series.data?.series.map((entry) => ({ ...entry, points: seriesLine(entry) })),
    [series.data],
  );

  // What the legend says of a run (or group) without a point of the metric here.
  const missingText = missingPointsText(zoomed, x, metric);
  const { datasets, legend } = useMemo(
    () =>
      curveDatasets({ lines: lines ?? [], runs: plotted, groupBy, smoothing, dark, colouring, missing: missingText }),
    [lines, plotted, groupBy, smoothing, dark, colouring, missingText],
  );

  // What is drawn is what is exported: hidden series left out, values a log axis cannot place as gaps.
  const drawn = useMemo(() => visibleDatasets(datasets, hidden, logX, logY), [datasets, hidden, logX, logY]);

  const onWindowChange = useCallback(
    (window: XWindow) =>
      set({ [`${urlPrefix}xmin`]: roundWindow(window.min), [`${urlPrefix}xmax`]: roundWindow(window.max) }),
    [set, urlPrefix],
  );

  const zoomBy = (factor: number) => {
    const range = controller.current?.xRange();
    if (!range) return;
    let { min, max } = range;
    if (logX && min > 0) {
      const [a, b] = [Math.log(min), Math.log(max)];
      const center = (a + b) / 2;
      const half = ((b - a) / 2) * factor;
      [min, max] = [Math.exp(center - half), Math.exp(center + half)];
    } else {
      const center = (min + max) / 2;
      const half = ((max - min) / 2) * factor;
      [min, max] = [center - half, center + half];
    }
    onWindowChange({ min, max });
  };

  const xLabel = X_LABELS[x];
  const chartTitle = `${metric ?? "metric"} vs ${xLabel}`;
  const exportCsv = () => {
    download(`${fileSlug(chartTitle)}.csv`, curvesCsv(drawn, x, metric), "text/csv");
  };
  const exportPng = () => {
    const png = controller.current?.toPng();
    if (png) download(`${fileSlug(chartTitle)}.png`, png);
  };

  const anyDownsampled = series.data?.series.some((entry) => entry.downsampled) ?? false;
  const settled = series.fetchStatus === "idle" || series.isSuccess || series.isError || keys.isError;
  const onSettledRef = useRef(onSettled);
  useEffect(() => {
    onSettledRef.current = onSettled;
  }, [onSettled]);
  useEffect(() => {
    if (settled) onSettledRef.current?.();
  }, [settled]);

  const pointTotal = series.data?.series.reduce((sum, entry) => sum + entry.xs.length, 0) ?? 0;
  const logged = series.data?.series.reduce((sum, entry) => sum + entry.total, 0) ?? 0;

  let body: ReactNode;
  if (runs.length === 0)
    body = (
      <PanelEmpty title="No runs to plot" height={height} testId="curves-empty">
        Runs appear here as soon as they log a point.
      </PanelEmpty>
    );
  else if (keys.isError) body = <PanelError>Could not load the metric names: {keys.error.message}</PanelError>;
  else if (series.isError) body = <PanelError>Could not load the curves: {series.error.message}</PanelError>;
  else if (metric === null && keys.isSuccess)
    body = (
      <PanelEmpty title="No metrics logged yet" height={height} testId="curves-empty">
        Curves appear once a run logs its first point.
      </PanelEmpty>
    );
  else if (series.isPending || metric === null) body = <ChartSkeleton height={height} />;
  else if (pointTotal === 0 && !xWindow)
    body = (
      <PanelEmpty title={`No ${metric} points against ${xLabel} yet`} height={height} testId="curves-empty">
        {x === "tokens" ? "Only language-model runs log tokens." : "Points appear as the runs log them."}
      </PanelEmpty>
    );
  else
    body = (
      <LineCanvas
        datasets={drawn}
        dark={dark}
        logX={logX}
        logY={logY}
        xTitle={xLabel}
        yTitle={metric}
        formatX={X_FORMATS[x]}
        formatY={formatTick}
        xWindow={xWindow}
        onWindowChange={onWindowChange}
        controller={controller}
        ariaLabel={`${chartTitle}: ${legend.length} ${groupBy ? "groups" : "runs"}`}
        height={height}
        onFirstDraw={markLiveDrawn}
      />
    );
  const showEarly =
    earlyScript !== null &&
    !liveDrawn &&
    metric !== null &&
    runs.length > 0 &&
    !series.isError &&
    !(series.isSuccess && pointTotal === 0) &&
    seriesUrl(seriesRequest) === earlyUrl;

  return (
    <section
      aria-labelledby={headingId}
      data-testid={testId}
      data-x={x}
      data-metric={metric ?? ""}
      data-window={xWindow ? `${xWindow.min},${xWindow.max}` : ""}
      data-colour-by={colorBy ?? ""}
      className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <div className="mb-3 flex flex-wrap items-center gap-x-3 gap-y-2">
        <h2 id={headingId} className="mr-auto font-medium">
          {title ?? chartTitle}
        </h2>
        {!fixedMetric ? (
          <ToolbarLabel label="Metric">
            <select
              className={smallSelect}
              value={metric ?? ""}
              onChange={(event) => set({ [key("metric")]: event.target.value })}
              data-testid="curves-metric"
            >
              {metric !== null && !pickerKeys.includes(metric) ? <option value={metric}>{metric}</option> : null}
              {pickerKeys.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
              {unlistedKeys > 0 ? (
                <option disabled value="">
                  {`${formatCount(unlistedKeys)} more: search to find them`}
                </option>
              ) : null}
            </select>
          </ToolbarLabel>
        ) : null}
        {!fixedMetric && (unlistedKeys > 0 || searching) ? (
          <MetricSearch
            value={keySearch}
            onChange={setKeySearch}
            testId="curves-metric-search"
            className={`${smallSelect} w-36`}
          />
        ) : null}
        <ToolbarLabel label="x">
          <select
            className={smallSelect}
            value={x}
            data-testid="curves-x"
            onChange={(event) =>
              set({
                [key("x")]: event.target.value === "step" && !defaults.x ? null : event.target.value,
                [key("xmin")]: null,
                [key("xmax")]: null,
              })
            }
          >
            {X_AXES.map((axis) => (
              <option key={axis} value={axis}>
                {X_LABELS[axis]}
              </option>
            ))}
          </select>
        </ToolbarLabel>
        <fieldset className="flex gap-1" aria-label="Axis scales">
          <ToggleButton
            pressed={logX}
            onClick={() => set({ [key("logx")]: logX ? "0" : "1", [key("xmin")]: null, [key("xmax")]: null })}
            testId="curves-logx"
          >
            log x
          </ToggleButton>
          <ToggleButton pressed={logY} onClick={() => set({ [key("logy")]: logY ? "0" : "1" })} testId="curves-logy">
            log y
          </ToggleButton>
        </fieldset>
        {paramKeys.length > 0 ? (
          <ParameterSelect
            label="Group by"
            value={groupBy ?? ""}
            none={{ value: "", label: "none (one line per run)" }}
            names={paramKeys}
            onChange={(value) => set({ [key("group")]: value })}
            testId="curves-group"
          />
        ) : null}
        {colourOptions.length > 0 && !groupBy ? (
          <ParameterSelect
            label="Colour by"
            value={colorBy ?? "none"}
            none={{ value: "none", label: "none (a colour per run)" }}
            names={colourOptions}
            onChange={(value) => set({ [key("colorBy")]: value })}
            testId="curves-colour-by"
          />
        ) : null}
        <ToolbarLabel label={`Smoothing ${smoothing.toFixed(2)}`}>
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing}
            onChange={(event) => changeSmoothing(Number(event.target.value))}
            className="w-24 accent-indigo-600"
            aria-label="EMA smoothing weight"
            data-testid="curves-smoothing"
          />
        </ToolbarLabel>
      </div>

      {earlyScript !== null ? (
        <div style={{ position: "relative" }}>
          {body}
          {showEarly && metric !== null ? (
            <EarlyCurvesSlot
              script={earlyScript}
              view={{
                request: seriesRequest,
                // Only what the drawing needs (the HTML carries it): ids and the group-by and colour-by values.
                runs: plotted.map((run) => ({
                  id: run.id,
                  params: Object.fromEntries(
                    [groupBy, colorBy].flatMap((name) =>
                      name && name in run.params ? [[name, run.params[name]]] : [],
                    ),
                  ),
                })),
                metric,
                x,
                logX,
                logY,
                groupBy,
                colorBy,
                smoothing: urlSmoothing,
                hidden: [...hidden],
                xWindow,
              }}
            />
          ) : null}
        </div>
      ) : (
        body
      )}

      <div className="mt-2 flex flex-wrap items-center gap-2 text-xs text-slate-500 dark:text-slate-400">
        <fieldset className="flex gap-1" aria-label="Zoom">
          <ToolButton onClick={() => zoomBy(0.5)} label="Zoom in" disabled={pointTotal === 0} testId="curves-zoom-in">
            +
          </ToolButton>
          <ToolButton onClick={() => zoomBy(2)} label="Zoom out" disabled={pointTotal === 0} testId="curves-zoom-out">
            −
          </ToolButton>
          <ToolButton
            onClick={() => set({ [key("xmin")]: null, [key("xmax")]: null })}
            label="Reset zoom"
            disabled={!xWindow}
            testId="curves-zoom-reset"
          >
            Reset
          </ToolButton>
        </fieldset>
        <span className="hidden sm:inline">Drag to zoom, Shift+drag to pan, Ctrl+wheel to zoom.</span>
        <span data-testid="curves-resolution" className="ml-auto tabular-nums">
          {series.isFetching ? "Loading… " : ""}
          {xWindow ? `${xLabel} ${X_FORMATS[x](xWindow.min)} – ${X_FORMATS[x](xWindow.max)} · ` : ""}
          {series.data
            ? anyDownsampled
              ? `${formatCount(pointTotal)} of ${formatCount(logged)} points (min/max kept per bucket; zoom in for full resolution)`
              : `all ${formatCount(pointTotal)} points`
            : ""}
        </span>
        <ToolButton onClick={exportPng} label="Export PNG" disabled={pointTotal === 0} testId="curves-export-png">
          PNG
        </ToolButton>
        <ToolButton onClick={exportCsv} label="Export CSV" disabled={pointTotal === 0} testId="curves-export-csv">
          CSV
        </ToolButton>
      </div>

      {anyDownsampled && smoothing > 0 ? (
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          Smoothing runs over the points drawn; zoom in for a smoothing of every logged point.
        </p>
      ) : null}
      {runs.length > MAX_CHART_RUNS ? (
        <p className="mt-1 text-xs text-amber-700 dark:text-amber-300">
          Showing the first {MAX_CHART_RUNS} of {runs.length} runs; select runs in the table to choose which.
        </p>
      ) : null}

      {colouring ? (
        <>
          <ColourScaleKey colourKey={colouring.key} />
          {/* The runs' own entries (to hide one) stay a click away: open, they repeat each setting's colour. */}
          <details className="mt-1 text-xs" data-testid="curves-legend-runs">
            <summary className="cursor-pointer text-slate-600 dark:text-slate-400">
              {legend.length} runs (press one to hide or show it)
            </summary>
            <ChartLegend entries={legend} hidden={hidden} onToggle={toggleHidden} />
          </details>
        </>
      ) : (
        <ChartLegend entries={legend} hidden={hidden} onToggle={toggleHidden} />
      )}
    </section>
  );
}

/** A toolbar select over the runs' parameters, with a first option that turns the choice off. */
function ParameterSelect(props: {
  label: string;
  value: string;
  none: { value: string; label: string };
  names: readonly string[];
  onChange: (value: string) => void;
  testId: string;
}) {
  return (
    <ToolbarLabel label={props.label}>
      <select
        className={smallSelect}
        value={props.value}
        onChange={(event) => props.onChange(event.target.value)}
        data-testid={props.testId}
      >
        <option value={props.none.value}>{props.none.label}</option>
        {props.names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </ToolbarLabel>
  );
}
