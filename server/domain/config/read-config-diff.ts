import { z } from "zod";
import type { Db } from "../../db.ts";
import { type ConfigDiff, diffConfigs } from "./diff-configs.ts";

/** The most runs one diff reads: as many as compare plots. */
export const MAX_CONFIG_DIFF_RUNS = 200;

export const ZConfigDiffInput = z.object({
  runIds: z
    .array(z.string().min(1).max(100))
    .min(1, "name at least one run")
    .max(MAX_CONFIG_DIFF_RUNS, `at most ${MAX_CONFIG_DIFF_RUNS} runs`),
});
export type ConfigDiffInput = z.infer<typeof ZConfigDiffInput>;

/** What differs between these runs' resolved configs; `runIds` says which run each value column is (the input's order, once each). */
export async function readConfigDiff(db: Db, input: ConfigDiffInput): Promise<ConfigDiff & { runIds: string[] }> {
  const runIds = [...new Set(input.runIds)];
  const rows = await db.run.findMany({ where: { id: { in: runIds } }, select: { id: true, config: true } });
  const configs = new Map(rows.map((row) => [row.id, row.config]));
  const found = runIds.filter((id) => configs.has(id));
  return { runIds: found, ...diffConfigs(found.map((id) => configs.get(id))) };
}
