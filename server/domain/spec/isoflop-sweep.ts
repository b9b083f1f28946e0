import { flopsPerStep, trainSampleCount } from "../model-size/count-flops.ts";
import { datasetShape } from "../model-size/dataset-shape.ts";
import { namesExampleCount } from "../model-size/names-corpus.ts";
import type { CellConfig } from "./spec-schema.ts";
import type { ScalarValue } from "./sweep-parameters.ts";

/**
 * An IsoFLOP cell that would train fewer steps than this is dropped: its loss would say more about
 * the learning-rate warm-up and the first steps' noise than about the model size at that budget.
 */
export const MIN_ISOFLOP_STEPS = 20;
/**
 * An IsoFLOP cell that would pass over its training data more often than this is dropped: past a
 * few epochs repeated data is worth less than fresh data (Muennighoff et al. 2023, "Scaling
 * Data-Constrained Language Models", find up to about 4 epochs nearly as good as unique data).
 */
export const MAX_ISOFLOP_EPOCHS = 4;
/** Where a cell's config records its declared FLOP budget (and its name and params show it). */
export const ISOFLOP_BUDGET_PATH = "training.isoflopBudget";

/** A cell a sweep left out, and why, as the plan shows it. */
export type DroppedCell = { name: string; params: Record<string, ScalarValue>; reason: string };

/**
 * Training examples a cell has after the validation split (as the trainer splits them), or null
 * when that is known only by reading the data (a CSV file).
 */
export function trainExampleCount(config: CellConfig): number | null {
  const { dataset, model, validation } = config;
  const examples = dataset.kind === "names" ? namesExampleCount(dataset.source, model) : datasetShape(dataset).samples;
  return examples === null ? null : Math.max(1, trainSampleCount(examples, validation.fraction));
}

/** A FLOP count as people write it: 1e9, 3e11, 2.5e10. */
export const formatFlops = (value: number) => Number(value.toPrecision(3)).toExponential().replace("e+", "e");

/**
 * A cell's training length at a FLOP budget: the whole number of steps whose exact FLOPs
 * (server/domain/model-size/count-flops.ts, at the batch the trainer will use) come closest to it,
 * or why the cell is dropped.
 */
export function isoflopSteps(
  config: CellConfig,
  budget: number,
): { steps: number; epochs: number | null } | { dropped: string } {
  const examples = trainExampleCount(config);
  const { batchSize } = config.training;
  if (batchSize === "full" && examples === null)
    return { dropped: 'batchSize "full" needs the dataset\'s size, which a CSV file has only when read' };
  // The trainer takes at most the whole training split per step.
  const batch = batchSize === "full" ? examples! : examples === null ? batchSize : Math.min(batchSize, examples);
  const stepFlops = flopsPerStep(config.model, datasetShape(config.dataset), batch).total;
  const steps = Math.round(budget / stepFlops);
  const at = `at ${formatFlops(budget)} FLOPs`;
  if (steps < MIN_ISOFLOP_STEPS)
    return {
      dropped: `${at} it would train ${steps} step${steps === 1 ? "" : "s"} of ${formatFlops(stepFlops)} FLOPs, fewer than ${MIN_ISOFLOP_STEPS}`,
    };
  const epochs = examples === null ? null : (steps * batch) / examples;
  if (epochs !== null && epochs > MAX_ISOFLOP_EPOCHS)
    return {
      dropped: `${at} it would train ${steps} steps, ${epochs.toFixed(1)} epochs of its ${examples} training examples (more than ${MAX_ISOFLOP_EPOCHS})`,
    };
  return { steps, epochs };
}
