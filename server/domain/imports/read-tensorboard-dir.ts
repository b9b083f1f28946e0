import type { Stats } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ImportError, type ImportIssue, type ImportedRun } from "./import-issue.ts";
import { readTfEvents } from "./read-tfevents.ts";

/**
 * A TensorBoard log directory as runs: every folder holding events.out.tfevents.* files is one run,
 * named by its path relative to the log directory, as TensorBoard names them. Event files right in
 * the log directory make a run named after the directory itself (TensorBoard shows ".").
 */

export type TensorboardDir = { runs: ImportedRun[]; files: number; records: number; issues: ImportIssue[] };

const EVENT_FILE = /^events\.out\.tfevents\./;

export async function findEventFiles(dir: string): Promise<Map<string, { folder: string; files: string[] }>> {
  let info: Stats;
  try {
    info = await stat(dir);
  } catch (error) {
    throw new ImportError([
      {
        file: dir,
        message: (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (error as Error).message,
      },
    ]);
  }
  if (!info.isDirectory())
    throw new ImportError([
      { file: dir, message: "not a directory; give the TensorBoard log directory (the one passed to --logdir)" },
    ]);
  const byRun = new Map<string, { folder: string; files: string[] }>();
  // Only real files and folders: a symlink loop in a log directory must not hang the import.
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !EVENT_FILE.test(entry.name)) continue;
    const folder = path.relative(dir, entry.parentPath);
    const run = folder === "" ? path.basename(path.resolve(dir)) : folder.split(path.sep).join("/");
    const found = byRun.get(run) ?? { folder: path.join(dir, folder), files: [] };
    found.files.push(path.join(found.folder, entry.name));
    byRun.set(run, found);
  }
  return byRun;
}

export async function readTensorboardDir(dir: string): Promise<TensorboardDir> {
  const byRun = await findEventFiles(dir);
  if (byRun.size === 0)
    throw new ImportError([{ file: dir, message: "no events.out.tfevents.* files in it or below it" }]);
  const runs: ImportedRun[] = [];
  const issues: ImportIssue[] = [];
  let files = 0;
  let records = 0;
  for (const [name, { folder, files: paths }] of [...byRun].sort(([a], [b]) => a.localeCompare(b))) {
    // Event file names start with a timestamp: in name order, a restarted run's later values win.
    const points = new Map<string, ImportedRun["points"][number]>();
    for (const file of paths.sort()) {
      const read = readTfEvents(await readFile(file), file);
      files++;
      records += read.records;
      issues.push(...read.issues);
      for (const scalar of read.scalars)
        points.set(`${scalar.tag}\u0000${scalar.step}`, {
          key: scalar.tag,
          step: scalar.step,
          value: scalar.value,
          wallTime: scalar.wallTime,
        });
    }
    if (points.size === 0) issues.push({ file: folder, message: `run "${name}" has no scalars; not imported` });
    else runs.push({ name, points: [...points.values()] });
  }
  return { runs, files, records, issues };
}
