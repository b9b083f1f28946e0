import { PgBoss, fromPrisma } from "pg-boss";
import { z } from "zod";

/** The queue of runs to train. A job's payload is only the run id; the run row holds the truth. */
export const TRAIN_QUEUE = "train-run";
export const ZTrainJob = z.object({ runId: z.string().min(1) });
export type TrainJob = z.infer<typeof ZTrainJob>;

export type TransactionLike = Parameters<typeof fromPrisma>[0];

/** What the domain needs from the queue: enqueue runs inside the caller's transaction. */
export type RunQueue = {
  enqueueRuns(tx: TransactionLike, runs: { runId: string; priority: number }[]): Promise<void>;
};

/**
 * A pg-boss instance for producers (web server, CLI): it installs or migrates pg-boss's schema
 * and creates the queue, but does no maintenance (workers do).
 */
export async function startProducerQueue(databaseUrl: string): Promise<{ boss: PgBoss; queue: RunQueue; stop: () => Promise<void> }> {
  const boss = new PgBoss({ connectionString: databaseUrl, supervise: false, schedule: false, max: 2 });
  boss.on("error", (error) => console.error(`queue: ${error instanceof Error ? error.message : String(error)}`));
  await boss.start();
  await ensureTrainQueue(boss);
  return { boss, queue: queueOf(boss), stop: () => boss.stop({ graceful: false, close: true }) };
}

/**
 * Creates the queue with `notify`: sending a job then wakes listening workers at once (pg-boss
 * LISTEN/NOTIFY) instead of at their next poll. Queues made before notify existed get it turned on.
 */
export async function ensureTrainQueue(boss: PgBoss): Promise<void> {
  const existing = await boss.getQueue(TRAIN_QUEUE);
  if (existing && !existing.notify) await boss.updateQueue(TRAIN_QUEUE, { notify: true });
  if (!existing) {
    await boss
      .createQueue(TRAIN_QUEUE, { policy: "exclusive", heartbeatSeconds: 30, retryLimit: 0, expireInSeconds: 24 * 3600, notify: true })
      .catch(async (error: unknown) => {
        // Another process created it at the same moment.
        if (!(await boss.getQueue(TRAIN_QUEUE))) throw error;
      });
  }
}

export function queueOf(boss: PgBoss): RunQueue {
  return {
    async enqueueRuns(tx, runs) {
      const db = fromPrisma(tx);
      for (const run of runs) {
        await boss.send(TRAIN_QUEUE, { runId: run.runId } satisfies TrainJob, { singletonKey: run.runId, priority: run.priority, db });
      }
    },
  };
}

type RawExecutor = { $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): Promise<T> };

/** Takes runs' not-yet-started jobs off the queue, inside the caller's transaction. */
export async function cancelQueuedJobs(tx: RawExecutor, runIds: string[]): Promise<void> {
  if (runIds.length === 0) return;
  const [installed] = await tx.$queryRaw<{ present: boolean }[]>`SELECT to_regclass('pgboss.job') IS NOT NULL AS present`;
  if (!installed?.present) return;
  await tx.$queryRaw`UPDATE pgboss.job SET state = 'cancelled', completed_on = now() WHERE name = ${TRAIN_QUEUE} AND singleton_key = ANY(${runIds}) AND state < 'active' RETURNING id`;
}

/** Ends a run's current jobs (queued or active) so a fresh job can be sent under the same singleton key. */
export async function retireRunJobs(tx: RawExecutor, runIds: string[]): Promise<void> {
  if (runIds.length === 0) return;
  const [installed] = await tx.$queryRaw<{ present: boolean }[]>`SELECT to_regclass('pgboss.job') IS NOT NULL AS present`;
  if (!installed?.present) return;
  await tx.$queryRaw`UPDATE pgboss.job SET state = 'failed', completed_on = now(), output = '{"reason":"requeued by scaleboard"}'::jsonb WHERE name = ${TRAIN_QUEUE} AND singleton_key = ANY(${runIds}) AND state IN ('created', 'retry', 'active') RETURNING id`;
}

/**
 * The next queued job for a run of one team (a remote worker's claim, fetched by the server on its
 * behalf): it is marked completed inside the caller's transaction, which then claims the run, so
 * either both happen or neither. Returns the run id, or null when the team has nothing queued.
 */
export async function takeTeamTrainJob(tx: RawExecutor, teamId: string): Promise<string | null> {
  const [installed] = await tx.$queryRaw<{ present: boolean }[]>`SELECT to_regclass('pgboss.job') IS NOT NULL AS present`;
  if (!installed?.present) return null;
  const rows = await tx.$queryRaw<{ runId: string }[]>`
    UPDATE pgboss.job SET state = 'completed', started_on = now(), completed_on = now(), output = '{"claimedBy":"worker api"}'::jsonb
    WHERE name = ${TRAIN_QUEUE} AND id = (
      SELECT j.id FROM pgboss.job j
        JOIN "Run" r ON r.id = j.singleton_key
        JOIN "Experiment" e ON e.id = r."experimentId"
        JOIN "Project" p ON p.id = e."projectId"
      WHERE j.name = ${TRAIN_QUEUE} AND j.state < 'active' AND NOT j.blocked AND j.start_after <= now() AND p."teamId" = ${teamId}
      ORDER BY j.priority DESC, j.created_on
      LIMIT 1
      FOR UPDATE OF j SKIP LOCKED)
    RETURNING singleton_key AS "runId"`;
  return rows[0]?.runId ?? null;
}
