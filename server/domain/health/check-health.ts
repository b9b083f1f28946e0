import type { Db } from "../../db.ts";

/** A worker counts as alive while its heartbeat is younger than this. */
export const WORKER_ALIVE_SECONDS = 30;

export type Health = {
  status: "ok" | "degraded" | "down";
  checkedAt: Date;
  database: { up: boolean; latencyMs: number | null; serverVersion: string | null; error: string | null };
  workers: {
    alive: number;
    list: { name: string; host: string; pid: number; slots: number; backend: string | null; heartbeatAt: Date; alive: boolean }[];
  };
};

/** Prisma wraps driver errors in several lines of invocation context; keep the driver's message. */
function conciseDatabaseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split("\n").map((line) => line.trim()).filter(Boolean);
  const last = lines.at(-1) ?? "unreachable";
  return /Message: `(.*)`/.exec(last)?.[1] ?? last;
}

/** The database is the one hard dependency; no live worker only degrades (runs stay queued). */
export async function checkHealth(db: Db, now = new Date()): Promise<Health> {
  const started = performance.now();
  let database: Health["database"];
  try {
    const rows = await db.$queryRaw<{ server_version: string }[]>`SHOW server_version`;
    database = {
      up: true,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
      serverVersion: rows[0]?.server_version ?? null,
      error: null,
    };
  } catch (error) {
    return {
      status: "down",
      checkedAt: now,
      database: { up: false, latencyMs: null, serverVersion: null, error: conciseDatabaseError(error) },
      workers: { alive: 0, list: [] },
    };
  }

  const recent = new Date(now.getTime() - 24 * 3600 * 1000);
  const workers = await db.worker.findMany({
    where: { stoppedAt: null, heartbeatAt: { gte: recent } },
    orderBy: { heartbeatAt: "desc" },
    take: 100,
    select: { name: true, host: true, pid: true, slots: true, backend: true, heartbeatAt: true },
  });
  const list = workers.map((worker) => ({
    ...worker,
    alive: now.getTime() - worker.heartbeatAt.getTime() <= WORKER_ALIVE_SECONDS * 1000,
  }));
  const alive = list.filter((worker) => worker.alive).length;
  return { status: alive > 0 ? "ok" : "degraded", checkedAt: now, database, workers: { alive, list } };
}
