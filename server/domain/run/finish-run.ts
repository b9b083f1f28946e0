import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { RunStatus } from "../../generated/prisma/enums.ts";
import { revokeRunKeys } from "../api-key/create-run-key.ts";
import { dataColumnsFromSummary } from "./run-data-columns.ts";
import { publishRunEvent } from "./run-events.ts";

export type RunOutcome = {
  status: Extract<RunStatus, "succeeded" | "failed" | "canceled" | "diverged">;
  error?: string | null;
  summary?: Record<string, unknown>;
  environment?: Record<string, unknown>;
  backend?: string | null;
  paramCount?: number | null;
  flopsPerStep?: number | null;
  totalFlops?: number | null;
  wallClockSeconds?: number | null;
  step?: number | null;
};

/** Records how an attempt ended, only if that attempt still owns the run. Returns false when fenced off. */
export async function finishRun(db: Db, runId: string, attempt: number, outcome: RunOutcome): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const updated = await tx.run.updateMany({
      where: { id: runId, attempt, status: "running" },
      data: {
        status: outcome.status,
        error: outcome.error ?? null,
        finishedAt: new Date(),
        progress: outcome.status === "succeeded" ? 1 : undefined,
        ...(outcome.summary ? { summary: outcome.summary as Prisma.InputJsonValue } : {}),
        ...dataColumnsFromSummary(outcome.summary),
        ...(outcome.environment ? { environment: outcome.environment as Prisma.InputJsonValue } : {}),
        ...(outcome.backend !== undefined ? { backend: outcome.backend } : {}),
        ...(outcome.paramCount != null ? { paramCount: BigInt(outcome.paramCount) } : {}),
        ...(outcome.flopsPerStep != null ? { flopsPerStep: outcome.flopsPerStep } : {}),
        ...(outcome.totalFlops != null ? { totalFlops: outcome.totalFlops } : {}),
        ...(outcome.wallClockSeconds != null ? { wallClockSeconds: outcome.wallClockSeconds } : {}),
        ...(outcome.step != null ? { step: outcome.step } : {}),
      },
    });
    if (updated.count === 0) return false;
    await revokeRunKeys(tx, runId);
    await publishRunEvent(tx, { runId, status: outcome.status });
    return true;
  });
}
