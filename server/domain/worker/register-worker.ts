import os from "node:os";
import type { Db, DbClient } from "../../db.ts";

export type WorkerIdentity = {
  name: string;
  host: string;
  pid: number;
  slots: number;
  backend?: string | null;
  version?: string | null;
  allowsCommands?: boolean;
};

/**
 * Where a worker's registry entry lives: a worker on the database serves every team (teamId null);
 * a worker on another host registers under its API key's team, and a key of another team can
 * neither see nor change that entry.
 */
export type WorkerScope = { teamId: string | null; name: string };

/** A worker counts as live while its heartbeat is younger than this (the same window health uses). */
export const WORKER_LIVE_SECONDS = 30;

export function defaultWorkerName(): string {
  return `${os.hostname()}-${process.pid}`;
}

/** A bare name is a worker on the database. */
const entry = (scope: WorkerScope | string) =>
  typeof scope === "string" ? { teamId: null, name: scope } : { teamId: scope.teamId, name: scope.name };

/**
 * Whether a worker row names a process of this machine that no longer exists. A worker stopped by
 * SIGKILL, or whose database went away before it could mark itself stopped (Ctrl-C reaches the
 * embedded PostgreSQL too), leaves a row with a fresh heartbeat; on its own host that row can be
 * told apart from a live worker at once instead of after the heartbeat window.
 */
export function isGoneOnThisHost(worker: { host: string; pid: number }, host = os.hostname()): boolean {
  if (worker.host !== host || worker.pid === process.pid) return false;
  try {
    process.kill(worker.pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists under another user; only ESRCH says it is gone.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Marks stopped the database's workers on this host whose process is gone (a restart after an unclean stop). */
export async function markGoneWorkersStopped(db: Db, host = os.hostname()): Promise<number> {
  const candidates = await db.worker.findMany({
    where: { teamId: null, host, stoppedAt: null },
    select: { id: true, host: true, pid: true },
    take: 1_000,
  });
  const gone = candidates.filter((worker) => isGoneOnThisHost(worker, host)).map((worker) => worker.id);
  if (gone.length === 0) return 0;
  return (await db.worker.updateMany({ where: { id: { in: gone }, stoppedAt: null }, data: { stoppedAt: new Date() } }))
    .count;
}

/** Registers (or revives) a worker row by team and name; the row's heartbeat is what health reports. */
export async function registerWorker(db: Db, worker: WorkerIdentity, teamId: string | null = null) {
  // A worker on the database starting on this host clears the rows its predecessors left behind.
  if (!teamId && worker.host === os.hostname()) await markGoneWorkersStopped(db, worker.host);
  const now = new Date();
  const fields = {
    host: worker.host,
    pid: worker.pid,
    slots: worker.slots,
    backend: worker.backend ?? null,
    version: worker.version ?? null,
    allowsCommands: worker.allowsCommands ?? false,
    startedAt: now,
    heartbeatAt: now,
    stoppedAt: null,
  };
  const select = { id: true, name: true } as const;
  if (teamId) {
    return db.worker.upsert({
      where: { teamId_name: { teamId, name: worker.name } },
      create: { teamId, name: worker.name, ...fields },
      update: fields,
      select,
    });
  }
  // A unique index treats null teams as distinct, so workers on the database are found by name.
  const existing = await db.worker.findFirst({
    where: entry({ teamId: null, name: worker.name }),
    select: { id: true },
  });
  if (existing) return db.worker.update({ where: { id: existing.id }, data: fields, select });
  return db.worker.create({ data: { name: worker.name, ...fields }, select });
}

/** Whether the team (or, for null, the database) has a registry entry by this name. */
export async function isWorkerRegistered(db: Db, scope: WorkerScope): Promise<boolean> {
  return (await db.worker.count({ where: entry(scope) })) > 0;
}

export async function recordWorkerHeartbeat(
  db: Db,
  scope: WorkerScope | string,
  allowsCommands?: boolean,
): Promise<void> {
  await db.worker.updateMany({
    where: entry(scope),
    data: { heartbeatAt: new Date(), ...(allowsCommands === undefined ? {} : { allowsCommands }) },
  });
}

export async function markWorkerStopped(db: Db, scope: WorkerScope | string): Promise<void> {
  await db.worker.updateMany({ where: entry(scope), data: { stoppedAt: new Date() } });
}

/**
 * Live workers that would take a team's command runs: its own workers on other hosts and the
 * database's workers, started with --allow-commands and heartbeating.
 */
export async function countWorkersAllowingCommands(db: DbClient, teamId: string, now = new Date()): Promise<number> {
  return db.worker.count({
    where: {
      allowsCommands: true,
      stoppedAt: null,
      heartbeatAt: { gte: new Date(now.getTime() - WORKER_LIVE_SECONDS * 1000) },
      OR: [{ teamId }, { teamId: null }],
    },
  });
}
