import { leastSquaresLine, predictionInterval, predictLoss, type Interval, type PowerLawBootstrap, type PowerLawFit } from "./fit-power-law.ts";

export type BudgetKind = "flops" | "seconds";
export type Budget = { kind: BudgetKind; value: number };

/** One run: its size (parameters) and what it cost (total FLOPs or wall-clock seconds). */
export type SizedCost = { size: number; cost: number };

/** cost(N) = c * N^beta, fitted as a line in log-log space. */
export type CostCurve = { c: number; beta: number; r2: number; n: number; sizes: number };

export type SizeForBudget =
  | {
      ok: true;
      budget: Budget;
      /** The largest size whose fitted cost fits the budget. */
      size: number;
      predictedLoss: number;
      /** Bootstrap interval of the loss at that size; null without a bootstrap. */
      lossInterval: Interval | null;
      costCurve: CostCurve;
      smallestRunCost: number;
      largestObservedSize: number;
      /** True when the size lies beyond the largest run: the loss is an extrapolation. */
      extrapolated: boolean;
      notes: string[];
    }
  | {
      ok: false;
      code: "no-loss-fit" | "too-few-sizes" | "cost-does-not-grow" | "below-smallest-run";
      reason: string;
      budget: Budget;
      costCurve: CostCurve | null;
      smallestRunCost: number | null;
    };

export function fitCostCurve(runs: readonly SizedCost[]): CostCurve | null {
  const usable = runs.filter((run) => Number.isFinite(run.size) && run.size > 0 && Number.isFinite(run.cost) && run.cost > 0);
  const line = leastSquaresLine(
    usable.map((run) => Math.log(run.size)),
    usable.map((run) => Math.log(run.cost)),
  );
  if (!line) return null;
  return { c: Math.exp(line.intercept), beta: line.slope, r2: line.r2, n: usable.length, sizes: new Set(usable.map((run) => run.size)).size };
}

/**
 * "What size for my budget?", answered from the study's own runs. Assumptions: the runs
 * trained for the same number of steps whatever their size, so a run's cost grows with its
 * size as cost = c * N^beta (fitted here, beta > 0); at that fixed step budget the fitted loss
 * falls with N, so the best size is the largest one whose fitted cost fits the budget. This is
 * not a compute-optimal (Chinchilla) trade of size against steps: the study did not vary steps.
 * A budget below the cheapest run is refused rather than extrapolated downwards.
 */
export function sizeForBudget(input: {
  runs: readonly SizedCost[];
  budget: Budget;
  /** The loss fitted against size (parameters). */
  loss: PowerLawFit;
  bootstrap?: PowerLawBootstrap | null;
}): SizeForBudget {
  const { budget, loss } = input;
  const usable = input.runs.filter((run) => Number.isFinite(run.size) && run.size > 0 && Number.isFinite(run.cost) && run.cost > 0);
  const costCurve = fitCostCurve(usable);
  if (!costCurve || costCurve.sizes < 2) {
    const smallestRunCost = usable.length > 0 ? Math.min(...usable.map((run) => run.cost)) : null;
    return { ok: false, code: "too-few-sizes", reason: "need runs of at least 2 sizes with a recorded cost to relate cost to size", budget, costCurve, smallestRunCost };
  }
  const smallestRunCost = Math.min(...usable.map((run) => run.cost));
  if (!loss.ok) return { ok: false, code: "no-loss-fit", reason: `no loss fit against size: ${loss.reason}`, budget, costCurve, smallestRunCost };
  if (!(costCurve.beta > 0)) {
    return { ok: false, code: "cost-does-not-grow", reason: "cost does not grow with size in these runs, so a budget does not pick a size", budget, costCurve, smallestRunCost };
  }
  if (budget.value < smallestRunCost) {
    return {
      ok: false,
      code: "below-smallest-run",
      reason: `the budget (${budget.value}) is below the cheapest run (${smallestRunCost}); the study says nothing about smaller models`,
      budget,
      costCurve,
      smallestRunCost,
    };
  }
  const size = (budget.value / costCurve.c) ** (1 / costCurve.beta);
  const largestObservedSize = Math.max(...usable.map((run) => run.size));
  const extrapolated = size > largestObservedSize;
  const notes: string[] = [];
  if (extrapolated) notes.push(`${formatRatio(size / largestObservedSize)} the largest run's size: the loss is an extrapolation of the fit`);
  if (costCurve.r2 < 0.9) notes.push(`cost follows size loosely here (log-log r² ${costCurve.r2.toFixed(2)})`);
  return {
    ok: true,
    budget,
    size,
    predictedLoss: predictLoss(loss, size),
    lossInterval: input.bootstrap ? predictionInterval(input.bootstrap, size) : null,
    costCurve,
    smallestRunCost,
    largestObservedSize,
    extrapolated,
    notes,
  };
}

function formatRatio(ratio: number): string {
  return `${ratio < 9.95 ? ratio.toFixed(1) : Math.round(ratio)}x`;
}
