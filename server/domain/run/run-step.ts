import { AppError } from "../app-error.ts";

/**
 * The largest training step a run may log or report: steps are stored as PostgreSQL int4. Points,
 * heartbeats and a command's stdout all take this one bound, so no path can hand the database a step
 * it cannot store.
 */
export const MAX_STEP = 2_147_483_647;

/** Whether `step` is a whole number from 0 to MAX_STEP. */
export function isStoredStep(step: unknown): step is number {
  return typeof step === "number" && Number.isInteger(step) && step >= 0 && step <= MAX_STEP;
}

/** Refuses a step the database cannot store, naming the field: a 400, never a database error. */
export function assertStoredStep(step: number | undefined | null, field = "step"): void {
  if (step === undefined || step === null || isStoredStep(step)) return;
  throw new AppError(
    "INVALID_INPUT",
    `${field}: must be a whole number from 0 to ${MAX_STEP} (steps are stored as 32-bit integers); got ${step}`,
  );
}
