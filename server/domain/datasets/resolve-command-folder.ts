import { statSync } from "node:fs";
import path from "node:path";
import {
  checkDatasetPath,
  DatasetPathError,
  examplesDir,
  SPEC_FOLDER_ROOT,
  shown,
  type DatasetRoot,
} from "./resolve-dataset-path.ts";

/**
 * Where a command run starts (`runner.cwd`), by the dataset roots' rule (resolve-dataset-path.ts):
 * a relative folder is looked up in the spec's folder first (paths in a spec are written from there,
 * as the schema and examples/README.md say), then SCALEBOARD_DATASETS_DIR and examples/; it may not
 * climb out of them with `..` or leave them through a symbolic link. An absolute folder is taken as
 * written: the command itself may read anything its user can, so confining where it starts protects
 * nothing, while a relative path must land where the spec's author meant.
 *
 * The spec's folder is known only where the local CLI applies a file in single-user mode; there the
 * folder is written into the cell as an absolute path at apply time (confine-dataset-paths.ts), which
 * is how the worker, elsewhere, learns it. Without it (the web editor, an API key) a relative folder
 * is looked up in the worker's roots, and an omitted one is examples/.
 */

export const CWD_FIELD = "runner.cwd";

/** The roots in the order a relative runner.cwd is looked up: the spec's folder first. */
export function commandFolderRoots(roots: readonly DatasetRoot[]): DatasetRoot[] {
  return [
    ...roots.filter((root) => root.name === SPEC_FOLDER_ROOT),
    ...roots.filter((root) => root.name !== SPEC_FOLDER_ROOT),
  ];
}

/**
 * Checks a runner.cwd against the roots: the folder's real path and root where one holds it, `{ path: null }`
 * where none does (a remote worker may have it), DatasetPathError("outside") for a path the rule refuses.
 */
export function checkCommandFolder(cwd: string, roots: readonly DatasetRoot[]) {
  if (path.isAbsolute(cwd) && !cwd.includes("\u0000")) return { path: path.resolve(cwd), root: null };
  return checkDatasetPath(cwd, commandFolderRoots(roots), { kind: "folder", subject: "a command's folder" });
}

function isFolder(candidate: string): boolean {
  try {
    return statSync(candidate).isDirectory();
  } catch {
    return false;
  }
}

/** The folder a worker starts a command in; DatasetPathError naming runner.cwd when it is refused or missing. */
export function resolveCommandFolder(cwd: string | undefined, roots: readonly DatasetRoot[]): string {
  if (cwd === undefined || cwd === "") return examplesDir();
  let found: ReturnType<typeof checkCommandFolder>;
  try {
    found = checkCommandFolder(cwd, roots);
  } catch (error) {
    if (!(error instanceof DatasetPathError)) throw error;
    throw new DatasetPathError(`${CWD_FIELD}: ${error.message}`, error.reason);
  }
  if (found.path === null || !isFolder(found.path)) {
    const where = path.isAbsolute(cwd)
      ? "on this worker"
      : `in ${commandFolderRoots(roots)
          .map((root) => root.name)
          .join(", ")}`;
    throw new DatasetPathError(`${CWD_FIELD}: no folder ${shown(cwd)} ${where}`, "missing");
  }
  return found.path;
}
