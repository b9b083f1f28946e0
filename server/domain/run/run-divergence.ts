/**
 * When a run has diverged: the one rule the built-in trainer (worker/training/train-cell.ts) and a
 * command run's stdout (worker/run-command.ts) both follow. A run diverges at the first step whose
 * training loss is NaN or infinite; other metrics (an evaluation loss, a gradient norm) may be
 * non-finite without ending it.
 */

/** The metric whose value decides divergence. */
export const TRAINING_LOSS_KEY = "train/loss";

/** Whether this logged value ends the run as diverged. */
export function isDivergedLoss(key: string, value: number): boolean {
  return key === TRAINING_LOSS_KEY && !Number.isFinite(value);
}

/** The run's error when it diverged: names the value and the step. */
export function divergenceMessage(value: number, step: number): string {
  return `the training loss became ${value} at step ${step}`;
}
