/** A run placed by what it reached (loss) and what it took (total FLOPs or wall-clock seconds). */
export type CostedRun = { runId: string; loss: number; cost: number };

/**
 * The runs no other run beats on both counts: none has lower-or-equal loss and lower-or-equal
 * cost with one of them strictly lower. Exact ties are all kept. Non-finite values are left out.
 * Sorted by cost, cheapest first (so loss falls along the list).
 */
export function paretoFrontier(runs: readonly CostedRun[]): CostedRun[] {
  const sorted = runs
    .filter((run) => Number.isFinite(run.loss) && Number.isFinite(run.cost))
    .toSorted((a, b) => a.cost - b.cost || a.loss - b.loss);
  const frontier: CostedRun[] = [];
  let bestCheaperLoss = Infinity;
  let index = 0;
  while (index < sorted.length) {
    // Runs of equal cost are judged together against the strictly cheaper ones.
    const cost = sorted[index]!.cost;
    const groupLoss = sorted[index]!.loss;
    while (index < sorted.length && sorted[index]!.cost === cost) {
      const run = sorted[index]!;
      if (run.loss === groupLoss && run.loss < bestCheaperLoss) frontier.push(run);
      index++;
    }
    bestCheaperLoss = Math.min(bestCheaperLoss, groupLoss);
  }
  return frontier;
}
