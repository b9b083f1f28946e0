import { createTwoFilesPatch } from "diff";
import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";

export async function listSpecVersions(db: Db, experimentId: string) {
  return db.specVersion.findMany({
    where: { experimentId },
    select: {
      id: true,
      version: true,
      format: true,
      sourceHash: true,
      createdAt: true,
      createdBy: { select: { id: true, name: true } },
      _count: { select: { runs: true } },
    },
    orderBy: { version: "desc" },
    take: 200,
  });
}

export async function getSpecVersion(db: Db, experimentId: string, version?: number | null) {
  const found = await db.specVersion.findFirst({
    where: { experimentId, ...(version ? { version } : {}) },
    orderBy: { version: "desc" },
    select: {
      version: true,
      source: true,
      format: true,
      createdAt: true,
      experiment: { select: { name: true, projectId: true, project: { select: { name: true, teamId: true } } } },
    },
  });
  if (!found)
    throw new AppError("NOT_FOUND", version ? `Spec version ${version} not found` : "This experiment has no spec yet");
  return found;
}

export type SpecSources = { from: number; to: number; older: string; newer: string };

/** A unified diff of two versions' text; its cost grows with their size times how much they differ, so the web server runs it in a spec thread. */
export function diffSpecSources({ from, to, older, newer }: SpecSources): string {
  return createTwoFilesPatch(`v${from}`, `v${to}`, older, newer, "", "", { context: 3 });
}

/** A unified diff of the spec text between two versions; `diff` computes it (in a spec thread, on the web server). */
export async function diffSpecVersions(
  db: Db,
  experimentId: string,
  from: number,
  to: number,
  diff: (sources: SpecSources) => Promise<string> | string = diffSpecSources,
) {
  const [older, newer] = await Promise.all([
    getSpecVersion(db, experimentId, from),
    getSpecVersion(db, experimentId, to),
  ]);
  return { from, to, patch: await diff({ from, to, older: older.source, newer: newer.source }) };
}
