import type { Db } from "../../db.ts";

/** Channel the dashboard listens on for live status changes and new points. */
export const RUN_EVENTS_CHANNEL = "scaleboard_runs";

export type RunEvent = { runId: string; experimentId?: string; status?: string; step?: number; keys?: string[] };

type RawExecutor = Pick<Db, "$executeRaw">;

export async function publishRunEvent(db: RawExecutor, event: RunEvent): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(event)})`;
}

/**
 * One event per run, in one statement: queued by an apply, canceled while queued. Inside a
 * transaction PostgreSQL delivers them at commit, so a table never refetches before the rows exist.
 */
export async function publishRunEvents(
  db: RawExecutor,
  experimentId: string,
  runIds: readonly string[],
  status: string,
): Promise<void> {
  if (runIds.length === 0) return;
  await db.$executeRaw`
    SELECT pg_notify(${RUN_EVENTS_CHANNEL}, json_build_object('runId', id, 'experimentId', ${experimentId}::text, 'status', ${status}::text)::text)
    FROM unnest(${[...runIds]}::text[]) AS id`;
}
