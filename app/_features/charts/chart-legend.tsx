"use client";

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
