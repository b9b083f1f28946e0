import type { Db } from "../../db.ts";

/** Log lines after a cursor (the last id seen), oldest first, for `scaleboard logs --follow`. */
export async function readRunLogs(db: Db, runId: string, afterId: bigint | null, limit = 1000) {
  const lines = await db.runLog.findMany({
    where: { runId, ...(afterId !== null ? { id: { gt: afterId } } : {}) },
    select: { id: true, attempt: true, stream: true, line: true, createdAt: true },
    orderBy: { id: "asc" },
    take: limit,
  });
  const run = await db.run.findUnique({ where: { id: runId }, select: { status: true } });
  return { lines, status: run?.status ?? null };
}
