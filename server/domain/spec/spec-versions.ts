import { createTwoFilesPatch } from "diff";
import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";

export async function listSpecVersions(db: Db, experimentId: string) {
  return db.specVersion.findMany({
    where: { experimentId },
    select: { id: true, version: true, format: true, sourceHash: true, createdAt: true, createdBy: { select: { id: true, name: true } }, _count: { select: { runs: true } } },
    orderBy: { version: "desc" },
    take: 200,
  });
}

export async function getSpecVersion(db: Db, experimentId: string, version?: number | null) {
  const found = await db.specVersion.findFirst({
    where: { experimentId, ...(version ? { version } : {}) },
    orderBy: { version: "desc" },
    select: { version: true, source: true, format: true, createdAt: true, experiment: { select: { name: true, projectId: true, project: { select: { name: true, teamId: true } } } } },
  });
  if (!found) throw new AppError("NOT_FOUND", version ? `Spec version ${version} not found` : "This experiment has no spec yet");
  return found;
}

/** A unified diff of the spec text between two versions. */
export async function diffSpecVersions(db: Db, experimentId: string, from: number, to: number) {
  const [older, newer] = await Promise.all([getSpecVersion(db, experimentId, from), getSpecVersion(db, experimentId, to)]);
  return { from, to, patch: createTwoFilesPatch(`v${from}`, `v${to}`, older.source, newer.source, "", "", { context: 3 }) };
}
