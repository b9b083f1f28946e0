import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "~/server/api/root.ts";
import { DataCell, DataRow, DataTable } from "~/app/_ui/data-table.tsx";

export type Plan = inferRouterOutputs<AppRouter>["spec"]["plan"];

/** Parameter counts the way papers write them: 950, 12.3K, 1.2M, 7B. */
export function formatCount(value: number): string {
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "K"],
  ];
  for (const [size, unit] of units) {
    if (Math.abs(value) >= size) return `${trimmed(value / size)}${unit}`;
  }
  return String(Math.round(value));
}

/** FLOPs with SI prefixes: 3.4 GFLOP, 1.2 PFLOP. */
export function formatFlops(value: number): string {
  const units: [number, string][] = [
    [1e18, "E"],
    [1e15, "P"],
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, unit] of units) {
    if (Math.abs(value) >= size) return `${trimmed(value / size)} ${unit}FLOP`;
  }
  return `${Math.round(value)} FLOP`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 1) return "< 1 s";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${trimmed(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${trimmed(seconds / 3600)} h`;
  return `${trimmed(seconds / 86400)} d`;
}

function trimmed(value: number): string {
  return value >= 100
    ? value.toFixed(0)
    : value >= 10
      ? value.toFixed(1).replace(/\.0$/, "")
      : value.toFixed(2).replace(/\.?0+$/, "");
}

function formatParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length ? entries.map(([key, value]) => `${key}=${String(value)}`).join(", ") : "(no swept values)";
}

const MAX_ROWS = 200;

const PLAN_COLUMNS = [
  { label: "Run" },
  { label: "Swept values" },
  { label: "Parameters", numeric: true },
  { label: "FLOPs", numeric: true },
  { label: "Steps", numeric: true },
  { label: "Est. duration", numeric: true },
];

function Stat({ label, value, testId, tone }: { label: string; value: number; testId: string; tone: string }) {
  return (
    <div className="rounded-lg border border-slate-200 px-3 py-2 dark:border-slate-800">
      <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
      <dd
        data-testid={testId}
        className={`text-2xl font-semibold tabular-nums ${value > 0 ? tone : "text-slate-400 dark:text-slate-500"}`}
      >
        {value}
      </dd>
    </div>
  );
}

function RunNames({ title, runs }: { title: string; runs: Plan["retry"] }) {
  if (runs.length === 0) return null;
  return (
    <details className="text-sm">
      <summary className="cursor-pointer rounded font-medium focus-visible:outline-2 focus-visible:outline-indigo-500">
        {title} ({runs.length})
      </summary>
      <ul className="mt-2 max-h-48 space-y-0.5 overflow-auto font-mono text-xs">
        {runs.map((run) => (
          <li key={run.runId}>
            {run.name} <span className="text-slate-500">· {run.status}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}

/** What applying a spec would do: new cells with their size and cost, and the runs it leaves, retries or removes. */
export function PlanView({ plan, stale }: { plan: Plan; stale: boolean }) {
  const shown = plan.create.slice(0, MAX_ROWS);
  const { totals } = plan;
  return (
    <section
      data-testid="plan"
      aria-labelledby="plan-heading"
      className={`rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900 ${stale ? "opacity-60" : ""}`}
    >
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="plan-heading" className="font-medium">
          Plan
        </h2>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          Project <strong>{plan.project.name}</strong> {plan.project.exists ? "" : "(new) "}· experiment{" "}
          <strong>{plan.experiment.name}</strong> {plan.experiment.exists ? "" : "(new) "}·{" "}
          {plan.specVersion.latest === null
            ? "first spec version"
            : plan.specVersion.changed
              ? `spec changed since version ${plan.specVersion.latest}`
              : `same text as version ${plan.specVersion.latest}`}
        </p>
      </div>
      {stale ? (
        <p role="status" className="mt-2 text-sm text-amber-700 dark:text-amber-300">
          The spec changed since this plan was made: plan again before applying.
        </p>
      ) : null}

      {plan.commands?.waiting ? (
        <p
          role="status"
          data-testid="plan-commands-waiting"
          className="mt-3 rounded-lg border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-200"
        >
          {plan.commands.runs} command run{plan.commands.runs === 1 ? "" : "s"}: {plan.commands.waiting}. An operator
          starts a worker with <code className="font-mono">--allow-commands</code> (or{" "}
          <code className="font-mono">SCALEBOARD_ALLOW_COMMANDS=1</code> for npm start) to run them.
        </p>
      ) : null}

      <dl className="mt-4 grid grid-cols-2 gap-3 sm:grid-cols-4">
        <Stat
          label="To create"
          value={plan.create.length}
          testId="plan-create-count"
          tone="text-indigo-600 dark:text-indigo-400"
        />
        <Stat
          label="Unchanged"
          value={plan.unchanged.length}
          testId="plan-unchanged-count"
          tone="text-slate-700 dark:text-slate-200"
        />
        <Stat
          label="To retry"
          value={plan.retry.length}
          testId="plan-retry-count"
          tone="text-amber-600 dark:text-amber-400"
        />
        <Stat
          label="To remove"
          value={plan.remove.length}
          testId="plan-remove-count"
          tone="text-red-600 dark:text-red-400"
        />
      </dl>

      {plan.create.length === 0 ? (
        <p className="mt-4 text-sm text-slate-600 dark:text-slate-400" data-testid="plan-nothing-new">
          Every cell of this spec already has a run: applying queues nothing new.
        </p>
      ) : (
        <DataTable
          columns={PLAN_COLUMNS}
          testId="plan-create-table"
          caption="New runs this spec would queue"
          frame="inset"
          className="mt-4"
          footer={
            <tr data-testid="plan-totals">
              <th scope="row" colSpan={2}>
                Total: {totals.create} new of {totals.cells} cells
                {plan.create.length > shown.length ? (
                  <span className="ml-2 font-normal text-slate-500">(first {shown.length} shown)</span>
                ) : null}
              </th>
              <DataCell numeric>{formatCount(totals.paramCount)}</DataCell>
              <DataCell numeric>{totals.totalFlops === null ? "—" : formatFlops(totals.totalFlops)}</DataCell>
              <td />
              <DataCell numeric>
                {totals.estimatedSeconds === null ? "—" : formatDuration(totals.estimatedSeconds)}
              </DataCell>
            </tr>
          }
        >
          {shown.map((cell) => (
            <DataRow key={cell.cellHash}>
              <DataCell className="font-mono text-xs">{cell.name}</DataCell>
              <DataCell className="font-mono text-xs text-slate-600 dark:text-slate-400">
                {formatParams(cell.params)}
              </DataCell>
              {cell.sizeError ? (
                <DataCell colSpan={3} className="text-right text-xs text-amber-700 dark:text-amber-300">
                  size unknown: {cell.sizeError}
                </DataCell>
              ) : (
                <>
                  <DataCell numeric title={cell.paramCount?.toLocaleString("en-US")}>
                    {cell.paramCount === null ? "—" : formatCount(cell.paramCount)}
                  </DataCell>
                  <DataCell numeric title={cell.totalFlops?.toExponential(3)}>
                    {cell.totalFlops === null ? "—" : formatFlops(cell.totalFlops)}
                  </DataCell>
                  <DataCell numeric>{cell.steps ?? "—"}</DataCell>
                </>
              )}
              <DataCell numeric>
                {cell.estimatedSeconds === null ? "—" : formatDuration(cell.estimatedSeconds)}
              </DataCell>
            </DataRow>
          ))}
        </DataTable>
      )}
      {totals.estimatedSeconds === null && plan.create.length > 0 ? (
        <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">
          Durations are estimated once this team has finished runs to measure training speed.
        </p>
      ) : null}

      <div className="mt-4 space-y-2">
        <RunNames title="Runs to retry (failed, diverged or canceled)" runs={plan.retry} />
        <RunNames title="Runs no longer in the spec" runs={plan.remove} />
        <RunNames title="Unchanged runs" runs={plan.unchanged} />
      </div>
    </section>
  );
}
