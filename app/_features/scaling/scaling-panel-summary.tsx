"use client";

import type { inferRouterOutputs } from "@trpc/server";
import { useEffect, useState } from "react";
import type { AppRouter } from "~/server/api/root.ts";
import { smallSelect } from "../charts/chart-frame.tsx";
import { formatCoefficient, formatCount, formatFlops, formatMetric, parseSize } from "../charts/format.ts";

export type ScalingResult = inferRouterOutputs<AppRouter>["scaling"]["view"];
type Budget = { kind: "flops" | "seconds"; value: number };

function interval(range: { low: number; high: number } | undefined, format: (value: number) => string): string {
  return range ? ` [${format(range.low)}, ${format(range.high)}]` : "";
}

/** The fitted law as one line of text, the way a paper states it. */
export function fitLine(data: ScalingResult, symbol: string): string | null {
  if (!data.fit.ok) return null;
  const { alpha, A, E, r2 } = data.fit;
  const ranges = data.intervals;
  return (
    `L(${symbol}) = E + A·${symbol}^-α with α = ${alpha.toFixed(3)}${interval(ranges?.alpha, (value) => value.toFixed(3))}, ` +
    `A = ${formatCoefficient(A)}${interval(ranges?.A, (value) => formatCoefficient(value))}, ` +
    `E = ${formatCoefficient(E)}${interval(ranges?.E, (value) => formatCoefficient(value))}, R² = ${r2.toFixed(3)}`
  );
}

type SummaryProps = {
  data: ScalingResult;
  symbol: string;
  xLabel: string;
  formatX: (value: number) => string;
  extrapolateTo: number | null;
  onExtrapolate: (value: number | null) => void;
  budget: Budget | null;
  onBudget: (budget: Budget | null) => void;
};

export function ScalingSummary({
  data,
  symbol,
  xLabel,
  formatX,
  extrapolateTo,
  onExtrapolate,
  budget,
  onBudget,
}: SummaryProps) {
  const line = fitLine(data, symbol);
  return (
    <div className="mt-3 space-y-3 text-sm">
      {line ? (
        <p
          data-testid="scaling-fit"
          className="rounded-md bg-slate-50 px-3 py-2 font-mono text-xs break-words dark:bg-slate-950"
        >
          {line}
        </p>
      ) : (
        <p
          data-testid="scaling-fit-missing"
          className="rounded-md bg-slate-50 px-3 py-2 text-xs text-slate-600 dark:bg-slate-950 dark:text-slate-400"
        >
          No fit: {data.fit.ok ? "" : data.fit.reason}
        </p>
      )}
      {data.fit.ok && data.intervals ? (
        <p className="text-xs text-slate-500 dark:text-slate-400" data-testid="scaling-interval-method">
          Brackets: {INTERVAL_LABEL[data.intervals.method]} ({data.intervals.fitted} of {data.intervals.resamples}{" "}
          resamples fitted).
        </p>
      ) : data.fit.ok && data.intervalReason ? (
        <p className="text-xs text-slate-500 dark:text-slate-400" data-testid="scaling-interval-method">
          No intervals: {data.intervalReason}.
        </p>
      ) : null}
      {data.fit.ok && data.fit.warnings.length > 0 ? (
        <ul className="list-disc pl-5 text-xs text-amber-700 dark:text-amber-300">
          {data.fit.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      ) : null}

      <div className="grid gap-3 md:grid-cols-2">
        <ExtrapolateForm
          symbol={symbol}
          xLabel={xLabel}
          formatX={formatX}
          value={extrapolateTo}
          onSubmit={onExtrapolate}
          result={data.extrapolation}
          fitOk={data.fit.ok}
        />
        <BudgetForm budget={budget} onSubmit={onBudget} result={data.advice ?? null} />
      </div>

      {data.skipped.length > 0 ? (
        <details className="text-xs text-slate-600 dark:text-slate-400">
          <summary className="cursor-pointer rounded focus-visible:outline-2 focus-visible:outline-indigo-500">
            {data.skipped.length} run{data.skipped.length === 1 ? "" : "s"} not in the fit
          </summary>
          <ul className="mt-1 max-h-40 overflow-y-auto pl-4" data-testid="scaling-skipped">
            {data.skipped.map((skip) => (
              <li key={skip.runId}>
                {skip.name} — not in the fit: {skip.reason}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}

const formBox = "rounded-lg border border-slate-200 p-3 dark:border-slate-800";

function ExtrapolateForm(props: {
  symbol: string;
  xLabel: string;
  formatX: (value: number) => string;
  value: number | null;
  onSubmit: (value: number | null) => void;
  result: ScalingResult["extrapolation"];
  fitOk: boolean;
}) {
  const { symbol, xLabel, formatX, value, onSubmit, result, fitOk } = props;
  const [text, setText] = useState(value !== null ? String(value) : "");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setText(value !== null ? String(value) : ""), [value]);
  return (
    <form
      className={formBox}
      onSubmit={(event) => {
        event.preventDefault();
        if (!text.trim()) {
          setError(null);
          onSubmit(null);
          return;
        }
        const parsed = parseSize(text);
        if (parsed === null) {
          setError("Enter a positive number, e.g. 1e7 or 10M");
          return;
        }
        setError(null);
        onSubmit(parsed);
      }}
    >
      <label className="flex flex-wrap items-center gap-2 text-xs">
        <span className="font-medium">Extrapolate to {symbol} =</span>
        <input
          className={`${smallSelect} w-28`}
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder="e.g. 10M"
          aria-describedby="extrapolate-help"
          data-testid="scaling-extrapolate-input"
        />
        <button
          type="submit"
          className="rounded-md bg-indigo-600 px-2 py-1 text-xs font-medium text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-500"
        >
          Predict
        </button>
      </label>
      <p id="extrapolate-help" className="mt-1 text-xs text-slate-500 dark:text-slate-400">
        In {xLabel}.
      </p>
      {error ? (
        <p role="alert" className="mt-1 text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      {result ? (
        <p className="mt-1 text-xs" data-testid="scaling-extrapolation">
          At {symbol} = {formatX(result.x)}: predicted loss <strong>{formatMetric(result.loss)}</strong>
          {result.low !== null && result.high !== null
            ? ` [${formatMetric(result.low)}, ${formatMetric(result.high)}]`
            : ""}
        </p>
      ) : value !== null && !fitOk ? (
        <p className="mt-1 text-xs text-slate-500">No fit to extrapolate from.</p>
      ) : null}
    </form>
  );
}

function BudgetForm({
  budget,
  onSubmit,
  result,
}: {
  budget: Budget | null;
  onSubmit: (budget: Budget | null) => void;
  result: ScalingResult["advice"] | null;
}) {
  const [kind, setKind] = useState<Budget["kind"]>(budget?.kind ?? "flops");
  const [text, setText] = useState(budget ? String(budget.value) : "");
  const [error, setError] = useState<string | null>(null);
  // The form follows the budget in the URL; `budget` itself is a new object each render, its fields are not.
  const budgetKind = budget?.kind;
  const budgetValue = budget?.value;
  useEffect(() => {
    setKind(budgetKind ?? "flops");
    setText(budgetValue === undefined ? "" : String(budgetValue));
  }, [budgetKind, budgetValue]);
  return (
    <form
      className={formBox}
      onSubmit={(event) => {
        event.preventDefault();
        if (!text.trim()) {
          setError(null);
          onSubmit(null);
          return;
        }
        const parsed = parseSize(text);
        if (parsed === null) {
          setError("Enter a positive number, e.g. 1e15 or 3600");
          return;
        }
        setError(null);
        onSubmit({ kind, value: parsed });
      }}
    >
      <div className="flex flex-wrap items-center gap-2 text-xs">
        <span className="font-medium">What size for my budget?</span>
        <select
          className={smallSelect}
          value={kind}
          onChange={(event) => setKind(event.target.value as Budget["kind"])}
          aria-label="Budget kind"
          data-testid="scaling-budget-kind"
        >
          <option value="flops">FLOPs</option>
          <option value="seconds">seconds</option>
        </select>
        <input
          className={`${smallSelect} w-28`}
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder={kind === "flops" ? "e.g. 1e15" : "e.g. 3600"}
          aria-label="Budget"
          data-testid="scaling-budget-input"
        />
        <button
          type="submit"
          className="rounded-md bg-indigo-600 px-2 py-1 text-xs font-medium text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-500"
        >
          Recommend
        </button>
      </div>
      {error ? (
        <p role="alert" className="mt-1 text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      {result && budget ? <AdviceAnswer advice={result} budget={budget} /> : null}
    </form>
  );
}

const INTERVAL_LABEL: Record<string, string> = {
  "seed-bootstrap": "95% bootstrap over seeds",
  "run-bootstrap": "95% bootstrap over runs",
  "residual-bootstrap": "95% residual bootstrap (one seed per size)",
};

/** The advisor's answer: what to train and for how long, from which fit, or why it cannot say. */
function AdviceAnswer({ advice, budget }: { advice: NonNullable<ScalingResult["advice"]>; budget: Budget }) {
  const asked =
    budget.kind === "flops" ? `${formatFlops(budget.value)} FLOPs` : `${formatCount(budget.value)} s of training`;
  if (!advice.ok)
    return (
      <p className="mt-1 text-xs text-slate-600 dark:text-slate-400" data-testid="scaling-budget-result">
        Cannot say for {asked}: {advice.reason}
      </p>
    );
  const swept = advice.sweptValues ? Object.entries(advice.sweptValues) : [];
  const loss = advice.predictedLoss;
  const range = advice.range;
  return (
    <div className="mt-1 space-y-1 text-xs" data-testid="scaling-budget-result">
      <p>
        With {asked}: train{" "}
        {swept.length > 0 ? (
          <strong>
            {swept.map(([key, value]) => `${key} = ${formatCount(value)}`).join(", ")} (N ≈{" "}
            {formatCount(advice.params!)})
          </strong>
        ) : (
          <strong>N ≈ {formatCount(advice.params!)} parameters</strong>
        )}
        {advice.steps !== null ? (
          <>
            {" "}
            for <strong>{formatCount(advice.steps)} steps</strong>
          </>
        ) : null}
        {advice.tokens !== null
          ? ` (${formatCount(advice.tokens)} tokens)`
          : advice.samples !== null
            ? ` (${formatCount(advice.samples)} samples)`
            : ""}
        {loss ? (
          <>
            ; predicted loss <strong>{formatMetric(loss.value)}</strong>
            {loss.low !== null && loss.high !== null ? ` [${formatMetric(loss.low)}, ${formatMetric(loss.high)}]` : ""}
          </>
        ) : null}
        .
      </p>
      <p className="text-slate-500 dark:text-slate-400">
        From the {advice.fit} fit.{" "}
        {advice.intervalMethod
          ? `Brackets: ${INTERVAL_LABEL[advice.intervalMethod]}.`
          : `No interval: ${advice.intervalReason ?? "not estimable"}.`}{" "}
        Answers only within {range.maxExtrapolation}x of the runs (N {formatCount(range.minParams ?? 0)} to{" "}
        {formatCount(range.maxParams ?? 0)}
        {range.minFlops !== null && range.maxFlops !== null
          ? `, ${formatFlops(range.minFlops)} to ${formatFlops(range.maxFlops)} FLOPs`
          : ""}
        ).
      </p>
      {advice.notes.map((note) => (
        <p key={note} className="text-amber-700 dark:text-amber-300">
          {note}
        </p>
      ))}
    </div>
  );
}
