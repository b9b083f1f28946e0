import type { Db } from "../../db.ts";
import type { Actor } from "../access/actor.ts";
import { isGoneOnThisHost } from "../worker/register-worker.ts";

/** A worker counts as alive while its heartbeat is younger than this. */
export const WORKER_ALIVE_SECONDS = 30;

export type HealthWorker = {
  name: string;
  host: string;
  pid: number;
  slots: number;
  backend: string | null;
  heartbeatAt: Date;
  alive: boolean;
};

/**
 * What the server says about itself. Anonymous callers learn only whether it is up: the details
 * (PostgreSQL version, latency, errors, worker count) are null and the worker list empty.
 */
export type Health = {
  status: "ok" | "degraded" | "down";
  checkedAt: Date;
  database: { up: boolean; latencyMs: number | null; serverVersion: string | null; error: string | null };
  workers: { alive: number | null; list: HealthWorker[] };
};

/** Whose workers a caller sees: none (anonymous), those of some teams plus the shared ones, or all (local mode). */
export type WorkerVisibility = { teamIds: string[] } | "all" | "none";

/** Prisma wraps driver errors in several lines of invocation context; keep the driver's message. */
function conciseDatabaseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const last = lines.at(-1) ?? "unreachable";
  return /Message: `(.*)`/.exec(last)?.[1] ?? last;
}

/** The teams whose workers the actor may see; database workers (no team) serve every team and are always shown. */
export async function workerVisibility(db: Db, actor: Actor | null): Promise<WorkerVisibility> {
  if (!actor) return "none";
  if (actor.kind === "apiKey") return { teamIds: [actor.teamId] };
  if (actor.via === "local") return "all";
  const memberships = await db.membership.findMany({ where: { userId: actor.userId }, select: { teamId: true } });
  return { teamIds: memberships.map((membership) => membership.teamId) };
}

/** The database is the one hard dependency; no live worker only degrades (runs stay queued). */
export async function checkHealth(db: Db, visibility: WorkerVisibility = "all", now = new Date()): Promise<Health> {
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
      database: {
        up: false,
        latencyMs: null,
        serverVersion: null,
        error: visibility === "none" ? null : conciseDatabaseError(error),
      },
      workers: { alive: visibility === "none" ? null : 0, list: [] },
    };
  }
  if (visibility === "none") {
    return {
      status: "ok",
      checkedAt: now,
      database: { up: true, latencyMs: null, serverVersion: null, error: null },
      workers: { alive: null, list: [] },
    };
  }

  const recent = new Date(now.getTime() - 24 * 3600 * 1000);
  const workers = await db.worker.findMany({
    where: {
      stoppedAt: null,
      heartbeatAt: { gte: recent },
      ...(visibility === "all" ? {} : { OR: [{ teamId: null }, { teamId: { in: visibility.teamIds } }] }),
    },
    orderBy: { heartbeatAt: "desc" },
    take: 100,
    select: { name: true, host: true, pid: true, slots: true, backend: true, heartbeatAt: true },
  });
  // A worker of this machine whose process is gone is not listed, even before its row is marked stopped.
  const list = workers
    .filter((worker) => !isGoneOnThisHost(worker))
    .map((worker) => ({
      ...worker,
      alive: now.getTime() - worker.heartbeatAt.getTime() <= WORKER_ALIVE_SECONDS * 1000,
    }));
  const alive = list.filter((worker) => worker.alive).length;
  return { status: alive > 0 ? "ok" : "degraded", checkedAt: now, database, workers: { alive, list } };
}
