"use client";

import Link from "next/link";
import { useState } from "react";
import { formatParam } from "./charts/format.ts";

export type DiffRun = { id: string; name: string; values: Record<string, unknown> };

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Runs side by side, keys as rows, only the keys whose values differ between them (a value
 * missing from one run counts as different). "Show all" adds the keys they share.
 */
export function ConfigDiff({ runs, title = "What differs", note }: { runs: DiffRun[]; title?: string; note?: string }) {
  const [showAll, setShowAll] = useState(false);
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.values)))].sort();
  const differing = keys.filter((key) => runs.some((run) => !same(run.values[key], runs[0]?.values[key])));
  const shown = showAll ? keys : differing;

  return (
    <section data-testid="config-diff" className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h2 className="font-medium">{title}</h2>
        <label className="flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-400">
          <input type="checkbox" className="h-4 w-4 accent-indigo-600" checked={showAll} onChange={(event) => setShowAll(event.target.checked)} />
          Show keys they share ({keys.length - differing.length})
        </label>
      </div>
      {note ? <p className="mb-2 text-xs text-slate-500 dark:text-slate-400">{note}</p> : null}
      {runs.length < 2 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">Select two or more runs to see what differs between them.</p>
      ) : shown.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="config-diff-none">
          These runs share every recorded value.
        </p>
      ) : (
        <div className="max-h-96 overflow-auto">
          <table className="w-full text-left text-xs">
            <thead className="sticky top-0 bg-white dark:bg-slate-900">
              <tr className="border-b border-slate-200 dark:border-slate-800">
                <th scope="col" className="px-2 py-1.5 font-semibold">
                  Key
                </th>
                {runs.map((run) => (
                  <th key={run.id} scope="col" className="px-2 py-1.5 font-semibold whitespace-nowrap">
                    <Link href={`/runs/${run.id}`} className="rounded text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300">
                      {run.name}
                    </Link>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((key) => {
                const differs = differing.includes(key);
                return (
                  <tr key={key} data-testid="config-diff-row" className="border-b border-slate-100 last:border-0 dark:border-slate-800">
                    <th scope="row" className={`px-2 py-1 font-mono font-normal ${differs ? "text-slate-900 dark:text-slate-100" : "text-slate-500"}`}>
                      {key}
                    </th>
                    {runs.map((run) => {
                      const value = run.values[key];
                      const odd = differs && !same(value, runs[0]?.values[key]);
                      return (
                        <td key={run.id} className={`px-2 py-1 tabular-nums ${odd ? "bg-amber-50 font-medium dark:bg-amber-950/50" : ""}`}>
                          {value === undefined ? <span className="text-slate-400">(none)</span> : formatParam(value)}
                        </td>
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
