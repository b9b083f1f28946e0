"use client";

import { skipToken, useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "~/server/api/root.ts";
import { useTRPC } from "../../_trpc/react.tsx";
import { formatCoefficient, formatCount, formatFlops } from "../charts/format.ts";
import { type BudgetRun, IsoflopChart } from "./isoflop-chart.tsx";

type Analysis = inferRouterOutputs<AppRouter>["scaling"]["analysis"];
type Exponent = { a: number; low: number | null; high: number | null } | null;

function exponentText(exponent: Exponent): string {
  if (!exponent) return "—";
  const interval =
    exponent.low !== null && exponent.high !== null
      ? ` [${exponent.low.toFixed(2)}, ${exponent.high.toFixed(2)}]`
      : " (no interval)";
  return `${exponent.a.toFixed(2)}${interval}`;
}

function range(interval: [number, number] | undefined, format: (value: number) => string): string {
  return interval ? ` [${format(interval[0])}, ${format(interval[1])}]` : "";
}

/**
 * The three estimates of how the compute-optimal size grows (N_opt ∝ C^a) side by side: the joint
 * L(N, D) fit, the IsoFLOP valleys and the training-curve envelope, each with its interval or the
 * reason it has none, and the analysis' notes (where the estimates disagree, it says so).
 */
export function ComputeOptimal({
  experimentId,
  metric,
  hold,
  runs,
}: {
  experimentId: string | null;
  metric: string;
  hold: boolean;
  /** The scaling view's runs (final values), drawn as each budget's points. */
  runs?: BudgetRun[];
}) {
  const trpc = useTRPC();
  const query = useQuery(
    trpc.scaling.analysis.queryOptions(!hold && experimentId ? { experimentId, metric } : skipToken, {
      staleTime: 60_000,
    }),
  );
  const analysis: Analysis | undefined = query.data;
  if (!analysis) return null;
  const { joint, computeOptimal, isoflop, envelope } = analysis;
  const valleys = isoflop?.budgets.filter((budget) => budget.optimumParams !== null) ?? [];
  return (
    <div
      className="mt-3 rounded-lg border border-slate-200 p-3 text-xs dark:border-slate-800"
      data-testid="compute-optimal"
    >
      <p className="font-medium">Compute-optimal size: three estimates of a in N_opt ∝ C^a</p>
      <table className="mt-2 w-full text-left">
        <thead className="text-slate-500 dark:text-slate-400">
          <tr>
            <th className="pr-3 font-normal">Estimate</th>
            <th className="pr-3 font-normal">a</th>
            <th className="font-normal">From</th>
          </tr>
        </thead>
        <tbody>
          <tr data-testid="estimate-joint">
            <td className="pr-3">Joint fit L(N, D)</td>
            <td className="pr-3 font-mono">{computeOptimal ? computeOptimal.a.toFixed(2) : "—"}</td>
            <td>
              {joint
                ? `α = ${joint.alpha.toFixed(3)}${range(joint.intervals?.alpha, (value) => value.toFixed(3))}, β = ${joint.beta.toFixed(3)}${range(joint.intervals?.beta, (value) => value.toFixed(3))}, E = ${formatCoefficient(joint.E)}${range(joint.intervals?.E, formatCoefficient)}; ${joint.n} runs, D in ${joint.dataUnit}${joint.intervalMethod ? `; ${joint.intervalMethod}` : `; no interval: ${joint.intervalReason}`}`
                : "not fitted (see notes)"}
            </td>
          </tr>
          <tr data-testid="estimate-isoflop">
            <td className="pr-3">IsoFLOP valleys</td>
            <td className="pr-3 font-mono">{exponentText(isoflop?.exponent ?? null)}</td>
            <td>
              {valleys.length > 0
                ? valleys
                    .map((budget) => `${formatFlops(budget.flops)}: N ≈ ${formatCount(budget.optimumParams!)}`)
                    .join("; ")
                : "no budget with a valley inside its sizes"}
            </td>
          </tr>
          <tr data-testid="estimate-envelope">
            <td className="pr-3">Training-curve envelope</td>
            <td className="pr-3 font-mono">{exponentText(envelope?.exponent ?? null)}</td>
            <td>{envelope?.reason ?? `${envelope?.points.length ?? 0} FLOP counts`}</td>
          </tr>
        </tbody>
      </table>
      {analysis.notes.length > 0 ? (
        <ul className="mt-2 list-disc pl-5 text-slate-600 dark:text-slate-400">
          {analysis.notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      ) : null}
      <IsoflopChart analysis={analysis} runs={runs ?? []} />
    </div>
  );
}
