import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";

export const runSummarySelect = {
  id: true,
  name: true,
  status: true,
  attempt: true,
  step: true,
  progress: true,
  backend: true,
  workerName: true,
  paramCount: true,
  flopsPerStep: true,
  totalFlops: true,
  wallClockSeconds: true,
  error: true,
  queuedAt: true,
  startedAt: true,
  finishedAt: true,
  heartbeatAt: true,
  cellHash: true,
} satisfies Prisma.RunSelect;

export const ZListRunsInput = z.object({
  limit: z.number().int().min(1).max(1000).default(200),
  cursor: z.string().min(1).nullish(),
});

export async function listRuns(db: Db, experimentId: string, input: z.infer<typeof ZListRunsInput>) {
  const items = await db.run.findMany({
    where: { experimentId },
    select: runSummarySelect,
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    take: input.limit + 1,
    ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
  });
  const hasMore = items.length > input.limit;
  const page = hasMore ? items.slice(0, input.limit) : items;
  return { items: page, nextCursor: hasMore ? (page.at(-1)?.id ?? null) : null };
}
