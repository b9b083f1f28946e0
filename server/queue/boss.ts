import { PgBoss, fromPrisma } from "pg-boss";
import { z } from "zod";
import { logger, messageOf } from "../log.ts";

/** The queue of runs to train. A job's payload is only the run id; the run row holds the truth. */
export const TRAIN_QUEUE = "train-run";
/**
 * `runner: command` runs have a queue of their own: only workers whose operator allowed commands
 * (--allow-commands) take jobs from it, so the others never see them.
 */
export const COMMAND_QUEUE = "train-command";
export const RUN_QUEUES = [TRAIN_QUEUE, COMMAND_QUEUE] as const;
export type RunQueueName = (typeof RUN_QUEUES)[number];

/** Whether a run's config (or a spec's cell) runs a command rather than the built-in trainer. */
export function isCommandRun(config: unknown): boolean {
  return (config as { runner?: { kind?: unknown } } | null)?.runner?.kind === "command";
}

/** The queues a worker takes jobs from. */
export function queuesFor(allowCommands: boolean): RunQueueName[] {
  return allowCommands ? [COMMAND_QUEUE, TRAIN_QUEUE] : [TRAIN_QUEUE];
}
export const ZTrainJob = z.object({ runId: z.string().min(1) });
export type TrainJob = z.infer<typeof ZTrainJob>;

export type TransactionLike = Parameters<typeof fromPrisma>[0];

/** What the domain needs from the queue, each step inside the caller's transaction. */
export type RunQueue = {
  /** One insert per queue for the whole batch; `command` routes a `runner: command` run to COMMAND_QUEUE. */
  enqueueRuns(tx: TransactionLike, runs: { runId: string; priority: number; command: boolean }[]): Promise<void>;
  /** Takes runs' not-yet-started jobs off the queue. */
  cancelQueuedJobs(tx: TransactionLike, runIds: string[]): Promise<void>;
  /** Ends runs' current jobs (queued or active) so a fresh job can be sent under the same singleton key. */
  retireRunJobs(tx: TransactionLike, runIds: string[]): Promise<void>;
  /**
   * The next queued run of one team (a remote worker's claim, made by the server on its behalf): its
   * job is completed inside the caller's transaction, which then claims the run, so either both happen
   * or neither. Command runs only for a worker that allows them. Null when the team has nothing queued.
   */
  takeTeamRun(tx: TransactionLike & RunPicker, teamId: string, allowCommands: boolean): Promise<string | null>;
};

/**
 * A pg-boss instance for producers (web server, CLI): it installs or migrates pg-boss's schema
 * and creates the queue, but does no maintenance (workers do).
 */
export async function startProducerQueue(
  databaseUrl: string,
): Promise<{ boss: PgBoss; queue: RunQueue; stop: () => Promise<void> }> {
  const boss = new PgBoss({ connectionString: databaseUrl, supervise: false, schedule: false, max: 2 });
  boss.on("error", (error) => logger().error({ err: error }, `queue: ${messageOf(error)}`));
  await boss.start();
  await ensureRunQueues(boss);
  return { boss, queue: queueOf(boss), stop: () => boss.stop({ graceful: false, close: true }) };
}

/**
 * Creates the run queues with `notify`: sending a job then wakes listening workers at once (pg-boss
 * LISTEN/NOTIFY) instead of at their next poll. Queues made before notify existed get it turned on.
 */
export async function ensureRunQueues(boss: PgBoss): Promise<void> {
  for (const name of RUN_QUEUES) {
    const existing = await boss.getQueue(name);
    if (existing && !existing.notify) await boss.updateQueue(name, { notify: true });
    if (!existing) {
      await boss
        .createQueue(name, {
          policy: "exclusive",
          heartbeatSeconds: 30,
          retryLimit: 0,
          expireInSeconds: 24 * 3600,
          notify: true,
        })
        .catch(async (error: unknown) => {
          // Another process created it at the same moment.
          if (!(await boss.getQueue(name))) throw error;
        });
    }
  }
}

/** Above this many runs, their jobs are found by reading the queue once rather than one lookup per run. */
const LOOKUPS_PER_CALL = 50;
const PAGE = 10_000;
/** A job of these states still stands for its run (pg-boss's exclusive policy allows one per run). */
const OPEN_STATES = new Set(["created", "retry", "active"]);
type QueueDb = ReturnType<typeof fromPrisma>;

export function queueOf(boss: PgBoss): RunQueue {
  /** The jobs of these runs not yet completed, failed or cancelled, by queue. */
  async function openJobs(db: QueueDb, runIds: string[], queuedOnly: boolean): Promise<Map<RunQueueName, string[]>> {
    const wanted = new Set(runIds);
    const found = new Map<RunQueueName, string[]>();
    for (const name of RUN_QUEUES) {
      const jobs: { id: string; singletonKey: string | null; state: string }[] = [];
      if (runIds.length <= LOOKUPS_PER_CALL) {
        for (const key of runIds) jobs.push(...(await boss.findJobs(name, { key, queued: queuedOnly, db })));
      } else {
        for (let after: string | undefined; ; ) {
          const page = await boss.findJobs(name, { queued: queuedOnly, limit: PAGE, db, ...(after ? { after } : {}) });
          jobs.push(...page);
          if (page.length < PAGE) break;
          after = page[page.length - 1]!.id;
        }
      }
      const ids = jobs
        .filter((job) => job.singletonKey !== null && wanted.has(job.singletonKey) && OPEN_STATES.has(job.state))
        .map((job) => job.id);
      if (ids.length) found.set(name, ids);
    }
    return found;
  }

  return {
    async enqueueRuns(tx, runs) {
      const db = fromPrisma(tx);
      for (const name of RUN_QUEUES) {
        const jobs = runs
          .filter((run) => (run.command ? COMMAND_QUEUE : TRAIN_QUEUE) === name)
          .map((run) => ({
            data: { runId: run.runId } satisfies TrainJob,
            singletonKey: run.runId,
            priority: run.priority,
          }));
        if (jobs.length) await boss.insert(name, jobs, { db });
      }
    },
    async cancelQueuedJobs(tx, runIds) {
      if (runIds.length === 0) return;
      const db = fromPrisma(tx);
      for (const [name, ids] of await openJobs(db, runIds, true)) await boss.cancel(name, ids, { db });
    },
    async retireRunJobs(tx, runIds) {
      if (runIds.length === 0) return;
      const db = fromPrisma(tx);
      for (const [name, ids] of await openJobs(db, runIds, false))
        await boss.fail(name, ids, { reason: "requeued by scaleboard" }, { db });
    },
    async takeTeamRun(tx, teamId, allowCommands) {
      const runId = await pickTeamRun(tx, teamId, allowCommands);
      if (runId === null) return null;
      const db = fromPrisma(tx);
      for (const [name, ids] of await openJobs(db, [runId], true))
        await boss.complete(name, ids, { claimedBy: "worker api" }, { db, includeQueued: true });
      return runId;
    },
  };
}

/** Reads from Scaleboard's own tables, for the run a remote worker claims. */
export type RunPicker = { $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): Promise<T> };

/**
 * The team's next queued run for a worker, highest priority then longest queued, locked against
 * concurrent claims (other locked runs are skipped). The run row is the truth; its job is settled by
 * the caller. Command runs only for a worker that allows them.
 */
async function pickTeamRun(tx: RunPicker, teamId: string, allowCommands: boolean): Promise<string | null> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT r.id FROM "Run" r
      JOIN "Experiment" e ON e.id = r."experimentId"
      JOIN "Project" p ON p.id = e."projectId"
    WHERE r.status = 'queued' AND p."teamId" = ${teamId}
      AND (${allowCommands} OR COALESCE(r.config #>> '{runner,kind}', '') <> 'command')
    ORDER BY r.priority DESC, r."queuedAt", r.id
    LIMIT 1
    FOR UPDATE OF r SKIP LOCKED`;
  return rows[0]?.id ?? null;
}
