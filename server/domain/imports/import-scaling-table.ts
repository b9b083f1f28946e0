import { createHash } from "node:crypto";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { ingestPoints } from "../metrics/ingest-points.ts";
import { publishRunEvent } from "../run/run-events.ts";
import { slugify } from "../team/create-team.ts";
import type { ScalingTableRow } from "./parse-scaling-table.ts";

/** FLOPs per parameter per token of a dense transformer's training step (forward and backward), C ≈ 6·N·D. */
export const FLOPS_PER_PARAM_TOKEN = 6;

export type ScalingTableImport = {
  project: string;
  experiment: string;
  /** The key the loss is recorded under (default "val/loss", the scaling view's default). */
  metric: string;
  rows: readonly ScalingTableRow[];
  /** Where the rows came from, for the runs' notes. */
  source: string;
};

/**
 * A row's identity within its experiment: everything but the loss, so importing a corrected table
 * updates the rows it corrects, and the n-th repeat of the same row stays the n-th run.
 */
function rowHash(row: ScalingTableRow, occurrence: number): string {
  const identity = JSON.stringify([
    row.params,
    row.tokens,
    row.flops,
    row.seed,
    Object.entries(row.config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    occurrence,
  ]);
  return `table-${createHash("sha256").update(identity).digest("hex").slice(0, 32)}`;
}

function short(value: number): string {
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, unit] of units) if (value >= size) return `${Number((value / size).toPrecision(3))}${unit}`;
  return String(Number(value.toPrecision(3)));
}

/**
 * One succeeded run per row, in the experiment (created if missing) of the team's project (found by
 * slug as the API does, created if missing): N as paramCount, D as tokens, C as totalFlops (the
 * table's, else 6·N·D), the loss in the summary under `metric` and as one point of `metric`, so the
 * scaling view, the runs table and the charts all see it. Idempotent: a row already imported (same
 * identity, rowHash) is updated in place, never duplicated.
 */
export async function importScalingTable(db: Db, teamId: string, input: ScalingTableImport) {
  const { experimentId } = await ensureExperiment(db, teamId, input.project, input.experiment);
  const seen = new Map<string, number>();
  const planned = input.rows.map((row) => {
    const base = rowHash(row, 0);
    const occurrence = seen.get(base) ?? 0;
    seen.set(base, occurrence + 1);
    return { row, cellHash: rowHash(row, occurrence) };
  });
  // What an earlier import stored, in two reads: a re-import of an unchanged table writes nothing.
  const existingRuns = await db.run.findMany({
    where: { experimentId, cellHash: { in: planned.map((entry) => entry.cellHash) } },
    select: { id: true, cellHash: true, summary: true, paramCount: true, tokens: true, totalFlops: true },
  });
  const byHash = new Map(existingRuns.map((run) => [run.cellHash, run]));
  const loggedSeries = await db.metricSeries.findMany({
    where: { runId: { in: existingRuns.map((run) => run.id) }, key: input.metric },
    select: { runId: true, pointCount: true, lastValue: true },
  });
  const logged = new Map(loggedSeries.map((series) => [series.runId, series]));

  let created = 0;
  let updated = 0;
  let unchanged = 0;
  const runIds: string[] = [];
  for (const { row, cellHash } of planned) {
    const flops = row.flops ?? FLOPS_PER_PARAM_TOKEN * row.params * row.tokens;
    const summary = {
      [input.metric]: row.loss,
      params: row.params,
      tokens: row.tokens,
      flops,
      ...(row.seed !== null ? { seed: row.seed } : {}),
    };
    const params = { ...row.config, ...(row.seed !== null ? { seed: row.seed } : {}) };
    const fields = {
      paramCount: BigInt(Math.round(row.params)),
      tokens: row.tokens,
      totalFlops: flops,
      summary: summary as Prisma.InputJsonValue,
    };
    const existing = byHash.get(cellHash);
    let runId: string;
    if (existing) {
      runId = existing.id;
      const series = logged.get(runId);
      const same =
        sameValues(existing.summary, summary) &&
        existing.paramCount === fields.paramCount &&
        close(existing.tokens, fields.tokens) &&
        close(existing.totalFlops, fields.totalFlops) &&
        series?.pointCount === 1 &&
        series.lastValue === row.loss;
      runIds.push(runId);
      if (same) {
        unchanged++;
        continue;
      }
      await db.run.update({ where: { id: runId }, data: fields, select: { id: true } });
      updated++;
    } else {
      const now = new Date();
      const run = await db.run.create({
        data: {
          experimentId,
          cellHash,
          name: `N ${short(row.params)} · D ${short(row.tokens)}${row.seed !== null ? ` · seed ${row.seed}` : ""}`,
          config: { params, runner: { kind: "imported" } } as Prisma.InputJsonValue,
          status: "succeeded",
          attempt: 1,
          progress: 1,
          step: 0,
          backend: "external",
          tags: ["imported", "scaling-table"],
          notes: `Imported from ${input.source}, line ${row.line}`,
          startedAt: now,
          finishedAt: now,
          ...fields,
        },
        select: { id: true },
      });
      runId = run.id;
      runIds.push(runId);
      created++;
      await publishRunEvent(db, { runId, experimentId, status: "succeeded" });
    }
    // Replaces the point of an earlier import of the row; idempotent on (run, key, step).
    await ingestPoints(db, runId, [{ key: input.metric, step: 0, value: row.loss }]);
  }
  return { experimentId, runs: runIds.length, created, updated, unchanged, runIds };
}

/** Float columns come back from the driver with 15 significant digits, not the 17 a double may need. */
function close(stored: number | null, value: number): boolean {
  return stored !== null && Math.abs(stored - value) <= 1e-13 * Math.abs(value);
}

/** The stored summary holds exactly these values (PostgreSQL's jsonb keeps keys in its own order). */
function sameValues(stored: Prisma.JsonValue, summary: Record<string, number>): boolean {
  if (stored === null || typeof stored !== "object" || Array.isArray(stored)) return false;
  const keys = Object.keys(summary);
  return Object.keys(stored).length === keys.length && keys.every((key) => stored[key] === summary[key]);
}

async function ensureExperiment(db: Db, teamId: string, projectName: string, experimentName: string) {
  const attempt = () =>
    db.$transaction(async (tx) => {
      const project = await tx.project.upsert({
        where: { teamId_slug: { teamId, slug: slugify(projectName) } },
        create: { teamId, name: projectName, slug: slugify(projectName) },
        update: {},
        select: { id: true },
      });
      const experiment = await tx.experiment.upsert({
        where: { projectId_name: { projectId: project.id, name: experimentName } },
        create: { projectId: project.id, name: experimentName },
        update: {},
        select: { id: true },
      });
      return { projectId: project.id, experimentId: experiment.id };
    });
  try {
    return await attempt();
  } catch (error) {
    // Two imports creating the same project at once: the loser finds it on a second try.
    if ((error as { code?: unknown }).code !== "P2002") throw error;
    return attempt();
  }
}
