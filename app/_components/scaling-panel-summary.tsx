"use client";

import type { inferRouterOutputs } from "@trpc/server";
import { useEffect, useState } from "react";
import type { AppRouter } from "../../server/api/root.ts";
import { smallSelect } from "./charts/chart-frame.tsx";
import { formatCoefficient, formatCount, formatFlops, formatMetric, parseSize } from "./charts/format.ts";

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

export function ScalingSummary({ data, symbol, xLabel, formatX, extrapolateTo, onExtrapolate, budget, onBudget }: SummaryProps) {
  const line = fitLine(data, symbol);
  return (
    <div className="mt-3 space-y-3 text-sm">
      {line ? (
        <p data-testid="scaling-fit" className="rounded-md bg-slate-50 px-3 py-2 font-mono text-xs break-words dark:bg-slate-950">
          {line}
        </p>
      ) : (
        <p data-testid="scaling-fit-missing" className="rounded-md bg-slate-50 px-3 py-2 text-xs text-slate-600 dark:bg-slate-950 dark:text-slate-400">
          No fit: {data.fit.ok ? "" : data.fit.reason}
        </p>
      )}
      {data.fit.ok && data.intervals ? (
        <p className="text-xs text-slate-500 dark:text-slate-400">
          Brackets: 95% bootstrap intervals over seeds ({data.intervals.fitted} of {data.intervals.resamples} resamples fitted).
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
        <ExtrapolateForm symbol={symbol} xLabel={xLabel} formatX={formatX} value={extrapolateTo} onSubmit={onExtrapolate} result={data.extrapolation} fitOk={data.fit.ok} />
        <BudgetForm budget={budget} onSubmit={onBudget} result={data.budget} />
      </div>

      {data.skipped.length > 0 ? (
        <details className="text-xs text-slate-600 dark:text-slate-400">
          <summary className="cursor-pointer rounded focus-visible:outline-2 focus-visible:outline-indigo-500">
            {data.skipped.length} run{data.skipped.length === 1 ? "" : "s"} left out
          </summary>
          <ul className="mt-1 max-h-40 overflow-y-auto pl-4">
            {data.skipped.map((skip) => (
              <li key={skip.runId}>
                {skip.name}: {skip.reason}
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
        <button type="submit" className="rounded-md bg-indigo-600 px-2 py-1 text-xs font-medium text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-500">
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
          {result.low !== null && result.high !== null ? ` [${formatMetric(result.low)}, ${formatMetric(result.high)}]` : ""}
        </p>
      ) : value !== null && !fitOk ? (
        <p className="mt-1 text-xs text-slate-500">No fit to extrapolate from.</p>
      ) : null}
    </form>
  );
}

function BudgetForm({ budget, onSubmit, result }: { budget: Budget | null; onSubmit: (budget: Budget | null) => void; result: ScalingResult["budget"] }) {
  const [kind, setKind] = useState<Budget["kind"]>(budget?.kind ?? "flops");
  const [text, setText] = useState(budget ? String(budget.value) : "");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setKind(budget?.kind ?? "flops");
    setText(budget ? String(budget.value) : "");
  }, [budget?.kind, budget?.value]);
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
        <select className={smallSelect} value={kind} onChange={(event) => setKind(event.target.value as Budget["kind"])} aria-label="Budget kind" data-testid="scaling-budget-kind">
          <option value="flops">FLOPs</option>
          <option value="seconds">seconds</option>
        </select>
        <input className={`${smallSelect} w-28`} value={text} onChange={(event) => setText(event.target.value)} placeholder={kind === "flops" ? "e.g. 1e15" : "e.g. 3600"} aria-label="Budget" data-testid="scaling-budget-input" />
        <button type="submit" className="rounded-md bg-indigo-600 px-2 py-1 text-xs font-medium text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-500">
          Recommend
        </button>
      </div>
      {error ? (
        <p role="alert" className="mt-1 text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      {result ? (
        result.ok ? (
          <div className="mt-1 space-y-1 text-xs" data-testid="scaling-budget-result">
            <p>
              With {result.budget.kind === "flops" ? `${formatFlops(result.budget.value)} FLOPs` : `${formatCount(result.budget.value)} s`}: train <strong>N ≈ {formatCount(result.size)}</strong> parameters, predicted loss{" "}
              <strong>{formatMetric(result.predictedLoss)}</strong>
              {result.lossInterval ? ` [${formatMetric(result.lossInterval.low)}, ${formatMetric(result.lossInterval.high)}]` : ""}
              {result.extrapolated ? " (beyond the largest run: an extrapolation)" : ""}.
            </p>
            <p className="text-slate-500 dark:text-slate-400">
              Cost ≈ {formatCoefficient(result.costCurve.c)}·N^{result.costCurve.beta.toFixed(2)} (R² {result.costCurve.r2.toFixed(3)}), at this study&apos;s fixed step count.
            </p>
            {result.notes.map((note) => (
              <p key={note} className="text-amber-700 dark:text-amber-300">
                {note}
              </p>
            ))}
          </div>
        ) : (
          <p className="mt-1 text-xs text-slate-600 dark:text-slate-400" data-testid="scaling-budget-result">
            {result.reason}
          </p>
        )
      ) : null}
    </form>
  );
}
