"use client";

import { skipToken, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { type ConfigDiff as Diff, MAX_CONFIG_KEYS, sameValue } from "~/server/domain/config/diff-configs.ts";
import { useTRPC } from "../../_trpc/react.tsx";
import { ErrorMessage } from "../../_ui/ui.tsx";

export type DiffRun = { id: string; name: string };

/** A config value as written: null is "null", a key the run lacks is a dash (absent), arrays and objects as JSON. */
function ConfigValue({ value }: { value: unknown }) {
  if (value === undefined)
    return (
      <span className="text-slate-400" title="absent: this run's config has no such key">
        —<span className="sr-only"> (absent)</span>
      </span>
    );
  if (value === null) return <span className="font-mono text-slate-500 italic">null</span>;
  if (typeof value === "string") return <>{value}</>;
  return <span className="font-mono">{JSON.stringify(value)}</span>;
}

const RUN_HEADER = "px-2 py-1.5 font-semibold whitespace-nowrap";
const KEY_CELL = "px-2 py-1 font-mono font-normal whitespace-nowrap";

/**
 * What differs between runs over their whole resolved configs: the keys whose values differ, runs as
 * columns, then the keys every run shares folded under "N keys the same". `linkRuns` links each run's
 * name to its page (not in a report, which links nowhere else in the project).
 */
export function ConfigDiffTable({ runs, diff, linkRuns }: { runs: DiffRun[]; diff: Diff; linkRuns: boolean }) {
  return (
    <div className="space-y-3">
      {diff.differing.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="config-diff-none">
          These runs share every configuration value.
        </p>
      ) : (
        <div className="max-h-[32rem] overflow-auto">
          <table className="w-full text-left text-xs" data-testid="config-diff-differing">
            <thead className="sticky top-0 bg-white dark:bg-slate-900">
              <tr className="border-b border-slate-200 dark:border-slate-800">
                <th scope="col" className="px-2 py-1.5 font-semibold">
                  Key
                </th>
                {runs.map((run) => (
                  <th key={run.id} scope="col" className={RUN_HEADER}>
                    {linkRuns ? (
                      <Link
                        href={`/runs/${run.id}`}
                        className="rounded text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300"
                      >
                        {run.name}
                      </Link>
                    ) : (
                      run.name
                    )}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {diff.differing.map(({ key, values }) => (
                <tr
                  key={key}
                  data-testid="config-diff-row"
                  data-key={key}
                  className="border-b border-slate-100 last:border-0 dark:border-slate-800"
                >
                  <th scope="row" className={`${KEY_CELL} text-slate-900 dark:text-slate-100`}>
                    {key}
                  </th>
                  {runs.map((run, index) => {
                    const value = values[index];
                    const changed = index > 0 && !sameValue(value, values[0]);
                    return (
                      <td
                        key={run.id}
                        className={`px-2 py-1 tabular-nums ${changed ? "bg-amber-50 font-medium dark:bg-amber-950/50" : ""}`}
                      >
                        <ConfigValue value={value} />
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {diff.same.length > 0 ? (
        <details data-testid="config-diff-same" className="text-xs">
          <summary className="cursor-pointer rounded text-sm text-slate-600 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400">
            {diff.same.length} {diff.same.length === 1 ? "key" : "keys"} the same in every run
          </summary>
          <div className="mt-2 max-h-96 overflow-auto">
            <table className="w-full text-left">
              <thead className="sticky top-0 bg-white dark:bg-slate-900">
                <tr className="border-b border-slate-200 dark:border-slate-800">
                  <th scope="col" className="px-2 py-1.5 font-semibold">
                    Key
                  </th>
                  <th scope="col" className={RUN_HEADER}>
                    Every run
                  </th>
                </tr>
              </thead>
              <tbody>
                {diff.same.map(({ key, value }) => (
                  <tr
                    key={key}
                    data-testid="config-diff-same-row"
                    className="border-b border-slate-100 last:border-0 dark:border-slate-800"
                  >
                    <th scope="row" className={`${KEY_CELL} text-slate-600 dark:text-slate-400`}>
                      {key}
                    </th>
                    <td className="px-2 py-1 tabular-nums">
                      <ConfigValue value={value} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      ) : null}
      {diff.truncated ? (
        <p className="text-xs text-amber-700 dark:text-amber-300">
          A run&apos;s config has more than {MAX_CONFIG_KEYS.toLocaleString("en-US")} keys: only its first{" "}
          {MAX_CONFIG_KEYS.toLocaleString("en-US")} are compared.
        </p>
      ) : null}
    </div>
  );
}

/**
 * What differs between the runs, read from the server: every key of their resolved configs (model,
 * dataset, optimizer, schedule, training, runner, swept values), differing keys first.
 */
export function ConfigDiff({ runs, title = "What differs" }: { runs: DiffRun[]; title?: string }) {
  const trpc = useTRPC();
  const runIds = runs.map((run) => run.id);
  const diff = useQuery(trpc.runsTable.configDiff.queryOptions(runIds.length >= 2 ? { runIds } : skipToken));
  const names = new Map(runs.map((run) => [run.id, run.name]));

  return (
    <section
      data-testid="config-diff"
      aria-busy={diff.isFetching}
      className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 className="font-medium">{title}</h2>
      <p className="mb-2 text-xs text-slate-500 dark:text-slate-400">
        Every key of each run&apos;s resolved configuration (model, dataset, optimizer, schedule, runner and the swept
        values); a dash marks a key the run does not have.
      </p>
      {runs.length < 2 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          Select two or more runs to see what differs between them.
        </p>
      ) : diff.isError ? (
        <ErrorMessage>Could not compare the runs&apos; configs: {diff.error.message}</ErrorMessage>
      ) : diff.data ? (
        <ConfigDiffTable
          runs={diff.data.runIds.map((id) => ({ id, name: names.get(id) ?? id }))}
          diff={diff.data}
          linkRuns
        />
      ) : (
        <div
          role="status"
          aria-label="Reading the runs' configs"
          className="h-24 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800"
        />
      )}
    </section>
  );
}
