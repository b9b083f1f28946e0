import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { isCommandRun, type RunQueue } from "../../queue/boss.ts";
import { publishRunEvents } from "../run/run-events.ts";
import { slugify } from "../team/create-team.ts";
import type { Cell } from "./expand-sweep.ts";
import type { ParsedSpec } from "./parse-spec.ts";
import { planSpec, sourceHash, type Plan } from "./plan-spec.ts";

/** Rows per INSERT: PostgreSQL takes at most 65,535 bind parameters in one statement (10 per run). */
const RUNS_PER_INSERT = 5_000;

export type ApplyOptions = { retryFailed?: boolean; prune?: boolean };
export type ApplyResult = {
  plan: Plan;
  projectId: string;
  experimentId: string;
  specVersion: number;
  created: string[];
  retried: string[];
  canceled: string[];
};

/**
 * Makes the database match the spec in one transaction: project and experiment, a new spec
 * version when the text changed, one queued run per new cell, enqueued with pg-boss in the same
 * transaction. Applying the same spec again writes nothing.
 */
export async function applySpec(
  db: Db,
  queue: RunQueue,
  actor: { teamId: string; userId: string | null },
  parsed: ParsedSpec,
  cells: Cell[],
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const { spec } = parsed;
  return db.$transaction(
    async (tx) => {
      // Serialises concurrent applies of the same experiment, so a cell is never created twice.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`${actor.teamId}/${slugify(spec.project)}/${spec.experiment}`}))`;
      const plan = await planSpec(tx, actor.teamId, parsed, cells);

      const project = await tx.project.upsert({
        where: { teamId_slug: { teamId: actor.teamId, slug: slugify(spec.project) } },
        create: { teamId: actor.teamId, name: spec.project, slug: slugify(spec.project) },
        update: {},
        select: { id: true },
      });
      const experiment = await tx.experiment.upsert({
        where: { projectId_name: { projectId: project.id, name: spec.experiment } },
        create: {
          projectId: project.id,
          name: spec.experiment,
          description: spec.description ?? null,
          priority: spec.priority,
        },
        update: {},
        select: { id: true, description: true, priority: true },
      });

      let version = plan.specVersion.latest ?? 0;
      let specVersionId: string | null = null;
      if (plan.specVersion.changed) {
        version += 1;
        const created = await tx.specVersion.create({
          data: {
            experimentId: experiment.id,
            version,
            source: parsed.source,
            format: parsed.format,
            resolved: spec as Prisma.InputJsonValue,
            sourceHash: sourceHash(parsed.source),
            createdById: actor.userId,
          },
          select: { id: true },
        });
        specVersionId = created.id;
        if (experiment.description !== (spec.description ?? null) || experiment.priority !== spec.priority) {
          await tx.experiment.update({
            where: { id: experiment.id },
            data: { description: spec.description ?? null, priority: spec.priority },
            select: { id: true },
          });
        }
      } else {
        specVersionId =
          (await tx.specVersion.findFirst({ where: { experimentId: experiment.id, version }, select: { id: true } }))
            ?.id ?? null;
      }

      // In batches, not a statement per cell: 10,000 cells are a few round trips.
      const cellsByHash = new Map(cells.map((cell) => [cell.cellHash, cell]));
      const created: string[] = [];
      for (let start = 0; start < plan.create.length; start += RUNS_PER_INSERT) {
        const rows = await tx.run.createManyAndReturn({
          data: plan.create.slice(start, start + RUNS_PER_INSERT).map((planned) => {
            const cell = cellsByHash.get(planned.cellHash)!;
            return {
              experimentId: experiment.id,
              specVersionId,
              name: cell.name,
              cellHash: cell.cellHash,
              config: { params: cell.params, ...cell.config } as Prisma.InputJsonValue,
              priority: spec.priority,
              paramCount: planned.paramCount === null ? null : BigInt(planned.paramCount),
              flopsPerStep: planned.flopsPerStep,
              totalFlops: null,
            };
          }),
          select: { id: true },
        });
        created.push(...rows.map((run) => run.id));
      }

      const retried: string[] = [];
      if (options.retryFailed && plan.retry.length) {
        const ids = plan.retry.map((run) => run.runId);
        await tx.run.updateMany({
          where: { id: { in: ids } },
          data: {
            status: "queued",
            error: null,
            queuedAt: new Date(),
            startedAt: null,
            finishedAt: null,
            cancelRequestedAt: null,
            specVersionId,
          },
        });
        retried.push(...ids);
      }

      const canceled: string[] = [];
      if (options.prune) {
        const queued = plan.remove.filter((run) => run.status === "queued").map((run) => run.runId);
        if (queued.length) {
          await tx.run.updateMany({
            where: { id: { in: queued }, status: "queued" },
            data: { status: "canceled", finishedAt: new Date(), error: "removed from the spec (--prune)" },
          });
          await queue.cancelQueuedJobs(tx, queued);
          canceled.push(...queued);
        }
      }

      // Command runs go to their own queue, which only workers that allow commands take from.
      const command = isCommandRun(spec);
      await queue.enqueueRuns(
        tx,
        [...created, ...retried].map((runId) => ({ runId, priority: spec.priority, command })),
      );
      // Open dashboards show the new rows at once (delivered at commit).
      await publishRunEvents(tx, experiment.id, [...created, ...retried], "queued");
      await publishRunEvents(tx, experiment.id, canceled, "canceled");
      return {
        plan,
        projectId: project.id,
        experimentId: experiment.id,
        specVersion: version,
        created,
        retried,
        canceled,
      };
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
}
