"use client";

import type { ColourKey } from "./colour-by.ts";
import { formatParam } from "./format.ts";

/** One legend entry: a run or group, its colour, and why it has no line when it has none. */
export type ChartLegendEntry = {
  seriesId: string;
  label: string;
  color: string;
  detail?: string;
  /** Set when the series has no point of the plotted metric: shown instead of a swatch. */
  missing?: string;
};

/**
 * The legend under a chart, as HTML: it wraps onto as many rows as it needs, so no entry is cut
 * off (Chart.js's canvas legend is clipped by the chart's height), and each entry toggles its
 * series. An entry without data says so ("no val/loss logged") instead of naming a line that is
 * not there.
 */
export function ChartLegend({
  entries,
  hidden,
  onToggle,
  testId = "curves-legend",
}: {
  entries: ChartLegendEntry[];
  hidden: ReadonlySet<string>;
  onToggle: (seriesId: string) => void;
  testId?: string;
}) {
  if (entries.length === 0) return null;
  return (
    <ul aria-label="Legend: press to hide or show a series" className="mt-3 flex flex-wrap gap-1" data-testid={testId}>
      {entries.map((entry) => {
        const shown = !hidden.has(entry.seriesId);
        if (entry.missing)
          return (
            <li
              key={entry.seriesId}
              data-testid="legend-missing"
              className="flex items-center gap-1.5 rounded-md border border-dashed border-slate-300 px-2 py-0.5 text-xs text-slate-500 dark:border-slate-700 dark:text-slate-400"
            >
              {entry.label}
              <span className="italic">({entry.missing})</span>
            </li>
          );
        return (
          <li key={entry.seriesId}>
            <button
              type="button"
              aria-pressed={shown}
              onClick={() => onToggle(entry.seriesId)}
              className={`flex items-center gap-1.5 rounded-md border px-2 py-0.5 text-xs focus-visible:outline-2 focus-visible:outline-indigo-500 ${
                shown
                  ? "border-slate-200 dark:border-slate-700"
                  : "border-dashed border-slate-300 text-slate-400 line-through dark:border-slate-700 dark:text-slate-500"
              }`}
            >
              <span
                aria-hidden
                className="inline-block h-2 w-3 rounded-sm"
                style={{ backgroundColor: shown ? entry.color : "transparent", border: `1px solid ${entry.color}` }}
              />
              {entry.label}
              {entry.detail ? <span className="text-slate-400">({entry.detail})</span> : null}
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/**
 * The key of lines coloured by a parameter (colour-by.ts): for a number, a bar from its lowest to its
 * highest value with a swatch under each value the runs hold; for a string, a swatch per value. It
 * stands for the many entries that would otherwise repeat one colour per setting.
 */
export function ColourScaleKey({ colourKey, testId = "curves-colour-key" }: { colourKey: ColourKey; testId?: string }) {
  const missing =
    colourKey.missing > 0 ? (
      <span className="text-slate-500 dark:text-slate-400">
        · {colourKey.missing} run{colourKey.missing === 1 ? "" : "s"} without {colourKey.param}, grey
      </span>
    ) : null;
  const swatches = (
    <ul className="flex flex-wrap gap-x-2 gap-y-1" aria-label={`Values of ${colourKey.param}`}>
      {colourKey.values.map((entry) => (
        <li
          key={`${typeof entry.value}:${String(entry.value)}`}
          data-testid="colour-key-value"
          data-value={String(entry.value)}
          data-color={entry.color}
          className="flex items-center gap-1 tabular-nums"
        >
          <span aria-hidden className="inline-block h-2 w-3 rounded-sm" style={{ backgroundColor: entry.color }} />
          {entry.label}
        </li>
      ))}
    </ul>
  );
  return (
    <div
      className="mt-3 space-y-1 text-xs text-slate-600 dark:text-slate-300"
      data-testid={testId}
      data-param={colourKey.param}
      data-kind={colourKey.kind}
    >
      {colourKey.kind === "numeric" ? (
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-medium">
            Colour: {colourKey.param}
            {colourKey.scale === "log" ? " (log scale)" : ""}
          </span>
          <span className="tabular-nums" data-testid="colour-key-min">
            {formatParam(colourKey.min)}
          </span>
          <span
            aria-hidden
            className="h-2 w-32 rounded"
            style={{ background: `linear-gradient(to right, ${colourKey.gradient.join(", ")})` }}
          />
          <span className="tabular-nums" data-testid="colour-key-max">
            {formatParam(colourKey.max)}
          </span>
          {missing}
        </div>
      ) : (
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-medium">Colour: {colourKey.param}</span>
          {missing}
        </div>
      )}
      {swatches}
    </div>
  );
}
