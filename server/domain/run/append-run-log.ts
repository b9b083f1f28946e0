import type { Db } from "../../db.ts";
import type { LogStream } from "../../generated/prisma/enums.ts";

/** Appends lines to a run's log (command output, worker notes). */
export async function appendRunLog(
  db: Db,
  runId: string,
  attempt: number,
  lines: { stream: LogStream; line: string }[],
): Promise<void> {
  if (lines.length === 0) return;
  await db.runLog.createMany({
    data: lines.map((entry) => ({ runId, attempt, stream: entry.stream, line: entry.line.slice(0, 10_000) })),
  });
}
