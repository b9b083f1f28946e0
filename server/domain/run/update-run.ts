import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { publishRunEvent } from "./run-events.ts";

export const ZAnnotateRunInput = z.object({
  /** Replaces the run's tags; duplicates and surrounding spaces are dropped. */
  tags: z.array(z.string().trim().min(1).max(64)).max(50).optional(),
  /** Replaces the notes; null clears them. */
  notes: z.string().max(10_000).nullable().optional(),
});
export type AnnotateRunInput = z.infer<typeof ZAnnotateRunInput>;

const annotationSelect = {
  id: true,
  experimentId: true,
  tags: true,
  notes: true,
  updatedAt: true,
} satisfies Prisma.RunSelect;

/** Tags and notes are the user's own words on a run: they never change how it trains. */
export async function annotateRun(db: Db, runId: string, input: AnnotateRunInput) {
  const run = await db.run.update({
    where: { id: runId },
    data: {
      ...(input.tags !== undefined ? { tags: [...new Set(input.tags)] } : {}),
      ...(input.notes !== undefined
        ? { notes: input.notes === null || input.notes.trim() === "" ? null : input.notes }
        : {}),
    },
    select: annotationSelect,
  });
  // Open tables refresh the row.
  await publishRunEvent(db, { runId: run.id, experimentId: run.experimentId });
  return run;
}
