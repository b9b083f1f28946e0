import path from "node:path";
import type { Env } from "../../env.ts";
import { cellHash } from "../spec/cell-identity.ts";
import type { Cell } from "../spec/expand-sweep.ts";
import type { ParsedSpec } from "../spec/parse-spec.ts";
import { SpecError, type SpecIssue } from "../spec/spec-issue.ts";
import { checkCommandFolder, CWD_FIELD } from "./resolve-command-folder.ts";
import { checkDatasetPath, datasetRoots, DatasetPathError, SPEC_FOLDER_ROOT } from "./resolve-dataset-path.ts";

export { localSpecFolder } from "./local-spec-folder.ts";

/** Where a dataset path was written: the sweep value that set it, else the dataset.path setting. */
function locateDatasetPath(parsed: ParsedSpec, value: string): { line: number | null; column: number | null } {
  for (const parameter of [...parsed.parameters, ...parsed.zipGroups.flat()]) {
    if (parameter.path !== "dataset.path" || (parameter.source.kind !== "list" && parameter.source.kind !== "choice"))
      continue;
    const index = parameter.source.values.indexOf(value);
    if (index >= 0) return parsed.locate(parameter.listPath ? [...parameter.listPath, index] : parameter.specPath);
  }
  return parsed.locate(["dataset", "path"]);
}

/**
 * Checks every cell's CSV path and command folder (runner.cwd) against the dataset roots when a spec is
 * validated, planned or applied: a path outside them is a SpecError with one issue at `dataset.path` or
 * `runner.cwd` naming the rule (nothing is read from the file). Paths that only the spec's folder holds
 * (local CLI) are written into the cells as absolute paths, so the worker, which runs elsewhere, reads
 * the same file; so is a command's folder, relative to the spec's folder (an omitted one is the spec's
 * folder itself). Those cells' hashes follow.
 */
export function confineDatasetPaths(
  parsed: ParsedSpec,
  cells: Cell[],
  options: { specFolder?: string | null; env?: Env } = {},
): Cell[] {
  const roots = datasetRoots(options);
  const issues: SpecIssue[] = [];
  const rewritten = new Map<string, string>();
  const folders = new Map<string, string | null>();
  const checked = new Set<string>();
  const refused = (error: unknown, field: string, where: { line: number | null; column: number | null }) => {
    if (!(error instanceof DatasetPathError)) throw error;
    issues.push({ path: field, message: error.message, ...where });
  };
  for (const cell of cells) {
    const dataset = cell.config.dataset;
    const runner = cell.config.runner;
    if (runner.kind === "command") {
      const cwd = runner.cwd ?? (options.specFolder ? "." : undefined);
      if (cwd !== undefined && !folders.has(cwd)) {
        folders.set(cwd, null);
        try {
          const found = checkCommandFolder(cwd, roots);
          if (found.path !== null && found.root?.name === SPEC_FOLDER_ROOT) folders.set(cwd, found.path);
        } catch (error) {
          refused(error, CWD_FIELD, parsed.locate(["runner", "cwd"]));
        }
      }
    }
    if (dataset.kind !== "csv" || checked.has(dataset.path)) continue;
    checked.add(dataset.path);
    try {
      const found = checkDatasetPath(dataset.path, roots);
      if (found.path !== null && found.root.name === SPEC_FOLDER_ROOT && !path.isAbsolute(dataset.path))
        rewritten.set(dataset.path, found.path);
    } catch (error) {
      refused(error, "dataset.path", locateDatasetPath(parsed, dataset.path));
    }
  }
  if (issues.length) throw new SpecError(issues, parsed.fileName);
  const inSpecFolder = [...folders.values()].some((folder) => folder !== null);
  if (rewritten.size === 0 && !inSpecFolder) return cells;
  return cells.map((cell) => {
    let config = cell.config;
    const dataset = config.dataset;
    const absolute = dataset.kind === "csv" ? rewritten.get(dataset.path) : undefined;
    if (dataset.kind === "csv" && absolute !== undefined)
      config = { ...config, dataset: { ...dataset, path: absolute } };
    const runner = config.runner;
    const folder = runner.kind === "command" ? folders.get(runner.cwd ?? ".") : undefined;
    if (runner.kind === "command" && folder) config = { ...config, runner: { ...runner, cwd: folder } };
    return config === cell.config ? cell : { ...cell, config, cellHash: cellHash(config) };
  });
}
