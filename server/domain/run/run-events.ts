import type { Db } from "../../db.ts";

/** Channel the dashboard listens on for live status changes and new points. */
export const RUN_EVENTS_CHANNEL = "scaleboard_runs";

export type RunEvent = { runId: string; experimentId?: string; status?: string; step?: number; keys?: string[] };

type RawExecutor = Pick<Db, "$executeRaw">;

export async function publishRunEvent(db: RawExecutor, event: RunEvent): Promise<void> {
  await db.$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${JSON.stringify(event)})`;
}
