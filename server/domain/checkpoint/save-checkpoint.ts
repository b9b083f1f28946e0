import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Db } from "../../db.ts";

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/**
 * Stores a checkpoint where any worker can read it: in PostgreSQL by default, or as a file in
 * `directory` (SCALEBOARD_CHECKPOINT_DIR, shared storage). Only the two newest are kept. Fenced by attempt.
 */
export async function saveCheckpoint(
  db: Db,
  run: { id: string; attempt: number },
  step: number,
  data: Uint8Array,
  directory?: string | null,
): Promise<boolean> {
  let filePath: string | null = null;
  if (directory) {
    filePath = path.join(directory, run.id, `step-${String(step).padStart(10, "0")}-attempt-${run.attempt}.ckpt`);
    try {
      await mkdir(path.dirname(filePath), { recursive: true });
      await writeFile(filePath, data);
    } catch (error) {
      throw new CheckpointError(
        `cannot write the checkpoint to ${filePath}: ${(error as NodeJS.ErrnoException).code ?? ""} ${(error as Error).message}`.trim(),
      );
    }
  }
  return db.$transaction(async (tx) => {
    const owner = await tx.run.count({ where: { id: run.id, attempt: run.attempt, status: "running" } });
    if (!owner) return false;
    await tx.checkpoint.create({
      data: {
        runId: run.id,
        attempt: run.attempt,
        step,
        data: filePath ? null : new Uint8Array(data),
        path: filePath,
        sizeBytes: data.byteLength,
      },
      select: { id: true },
    });
    const keep = await tx.checkpoint.findMany({
      where: { runId: run.id },
      orderBy: [{ step: "desc" }, { createdAt: "desc" }],
      take: 2,
      select: { id: true },
    });
    await tx.checkpoint.deleteMany({
      where: { runId: run.id, id: { notIn: keep.map((checkpoint) => checkpoint.id) } },
    });
    return true;
  });
}
