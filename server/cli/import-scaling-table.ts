import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ImportError } from "../domain/imports/import-issue.ts";
import { parseScalingTable } from "../domain/imports/parse-scaling-table.ts";
import type { Backend } from "./backend.ts";

/**
 * `scaleboard import scaling-table FILE.csv`: published or external scaling results (params,
 * tokens, loss per run) become succeeded runs of an experiment, so the scaling analysis fits them
 * next to one's own (server/domain/imports/import-scaling-table.ts). The table is read and checked
 * whole first: a bad cell changes nothing.
 */

/** A table this size is far past any published one (Chinchilla's is 20 kB); the bound keeps memory in check. */
export const MAX_TABLE_BYTES = 16 * 1024 * 1024;

export async function readScalingTable(source: string, shown: string) {
  try {
    const info = await stat(source);
    if (info.isDirectory()) throw new ImportError([{ file: shown, message: "a directory, not a CSV file" }]);
    if (info.size > MAX_TABLE_BYTES)
      throw new ImportError([
        { file: shown, message: `${info.size} bytes; a scaling table may have at most ${MAX_TABLE_BYTES} bytes` },
      ]);
    return parseScalingTable(await readFile(source, "utf8"), shown);
  } catch (error) {
    if (error instanceof ImportError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImportError([{ file: shown, message: code === "ENOENT" ? "no such file" : (error as Error).message }]);
  }
}

export async function importScalingTableLocally(options: {
  team: string | undefined;
  project: string;
  experiment: string;
  metric: string;
  rows: Awaited<ReturnType<typeof readScalingTable>>;
  source: string;
}) {
  // Loaded here: Prisma takes seconds to load, and a usage or CSV error needs none of it.
  const [{ createDb }, { openBackend, openLocalDatabase }, { importScalingTable }] = await Promise.all([
    import("../db.ts"),
    import("./backend.ts"),
    import("../domain/imports/import-scaling-table.ts"),
  ]);
  const { url, stopEmbedded } = await openLocalDatabase();
  let backend: Backend | null = null;
  const db = createDb(url);
  try {
    backend = await openBackend({ team: options.team, databaseUrl: url });
    return await importScalingTable(db, backend.teamId, {
      project: options.project,
      experiment: options.experiment,
      metric: options.metric,
      rows: options.rows,
      source: path.resolve(options.source),
    });
  } finally {
    await db.$disconnect();
    await backend?.close();
    await stopEmbedded?.();
  }
}
