import os from "node:os";
import type { Db } from "../../db.ts";

export type WorkerIdentity = { name: string; host: string; pid: number; slots: number; backend?: string | null; version?: string | null };

export function defaultWorkerName(): string {
  return `${os.hostname()}-${process.pid}`;
}

/** Registers (or revives) a worker row by name; the row's heartbeat is what health reports. */
export async function registerWorker(db: Db, worker: WorkerIdentity) {
  const now = new Date();
  return db.worker.upsert({
    where: { name: worker.name },
    create: { ...worker, startedAt: now, heartbeatAt: now },
    update: { host: worker.host, pid: worker.pid, slots: worker.slots, backend: worker.backend ?? null, version: worker.version ?? null, startedAt: now, heartbeatAt: now, stoppedAt: null },
    select: { id: true, name: true },
  });
}

export async function recordWorkerHeartbeat(db: Db, name: string): Promise<void> {
  await db.worker.update({ where: { name }, data: { heartbeatAt: new Date() }, select: { id: true } });
}

export async function markWorkerStopped(db: Db, name: string): Promise<void> {
  await db.worker.update({ where: { name }, data: { stoppedAt: new Date() }, select: { id: true } });
}
