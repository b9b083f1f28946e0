import { existsSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { authMode, env, type Env } from "../../env.ts";

/**
 * Where a spec's CSV dataset may be read from: the one rule, used when a spec is planned, applied or
 * validated (server/domain/datasets/confine-dataset-paths.ts) and again by the worker before it reads
 * (worker/training/datasets.ts).
 *
 * Dataset roots, in the order relative paths are looked up:
 *   1. SCALEBOARD_DATASETS_DIR, when set (the operator's data folder);
 *   2. the shipped examples/ folder;
 *   3. in local single-user mode, the folder of a spec applied with the local CLI.
 * A path is allowed when it lies inside a root after every symbolic link is followed (realpath).
 * Absolute paths outside the roots and relative paths that climb out with `..` are refused without
 * being read. Messages name the roots by what they are, never by where they are on the server, and
 * never quote anything read from the file.
 */

export type DatasetRoot = {
  /** How messages name it: "SCALEBOARD_DATASETS_DIR", "examples/", "the spec's folder". */
  name: string;
  /** Absolute folder. */
  dir: string;
};

export class DatasetPathError extends Error {
  override name = "DatasetPathError";
  constructor(
    message: string,
    /** "outside": refused by the rule; "missing": allowed, but no root holds the file. */
    readonly reason: "outside" | "missing",
  ) {
    super(message);
  }
}

export const SPEC_FOLDER_ROOT = "the spec's folder";
const SHOWN_PATH_CHARS = 200;

/** The shipped examples/ folder: next to this module in the checkout, else under the working folder (a bundled server). */
export function examplesDir(): string {
  const candidates = [
    path.resolve(import.meta.dirname ?? ".", "../../../examples"),
    path.join(process.cwd(), "examples"),
  ];
  return candidates.find((dir) => existsSync(path.join(dir, "README.md"))) ?? candidates[0]!;
}

/** The dataset roots in lookup order; `specFolder` only where the caller is the local CLI in single-user mode. */
export function datasetRoots(options: { specFolder?: string | null; env?: Env } = {}): DatasetRoot[] {
  const parsed = options.env ?? env();
  const roots: DatasetRoot[] = [];
  if (parsed.SCALEBOARD_DATASETS_DIR)
    roots.push({ name: "SCALEBOARD_DATASETS_DIR", dir: path.resolve(parsed.SCALEBOARD_DATASETS_DIR) });
  roots.push({ name: "examples/", dir: examplesDir() });
  if (options.specFolder) roots.push({ name: SPEC_FOLDER_ROOT, dir: path.resolve(options.specFolder) });
  return roots;
}

/**
 * The roots a worker reads from. In local single-user mode (sign-in off, the worker beside the
 * database that `npm start` started) it also reads absolute paths as written: the plan, run in the
 * local CLI, already confined them to the spec's folder, which the worker cannot know. A worker of a
 * server with sign-in on, or one that talks to a server over HTTP, reads only inside the roots.
 */
export function workerDatasetAccess(parsed: Env = env()): { roots: DatasetRoot[]; anyAbsolute: boolean } {
  return {
    roots: datasetRoots({ env: parsed }),
    anyAbsolute: authMode(parsed) === "off" && Boolean(parsed.DATABASE_URL),
  };
}

/** The roots' names in one order whatever the lookup order (runner.cwd looks in the spec's folder first). */
const NAME_ORDER = ["SCALEBOARD_DATASETS_DIR", "examples/", SPEC_FOLDER_ROOT];

function rootNames(roots: readonly DatasetRoot[]): string {
  const rank = (name: string) => (NAME_ORDER.includes(name) ? NAME_ORDER.indexOf(name) : NAME_ORDER.length);
  const names = roots.map((root) => root.name).sort((a, b) => rank(a) - rank(b));
  if (!names.includes("SCALEBOARD_DATASETS_DIR")) names.unshift("SCALEBOARD_DATASETS_DIR");
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names[0]!;
}

/** The rule as one sentence, for messages; `subject` names what it confines ("runner.cwd"). */
export function datasetRule(roots: readonly DatasetRoot[], subject = "dataset paths"): string {
  return `${subject} must be inside ${rootNames(roots)}`;
}

/** A path as messages show it: on one line, at most 200 characters. */
export function shown(file: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this replaces, so a path prints on one line
  const printable = file.replace(/[\u0000-\u001f\u007f]/g, "?");
  return printable.length > SHOWN_PATH_CHARS ? `${printable.slice(0, SHOWN_PATH_CHARS)}…` : printable;
}

function inside(dir: string, target: string): boolean {
  const relative = path.relative(dir, target);
  return !path.isAbsolute(relative) && !/^\.\.(?:[\\/]|$)/.test(relative);
}

function realDir(dir: string): string | null {
  try {
    return realpathSync(dir);
  } catch {
    return null;
  }
}

/** Both spellings of each root: as configured and with its own links followed. */
function rootDirs(roots: readonly DatasetRoot[]): string[] {
  return roots.flatMap((root) => [root.dir, realDir(root.dir)].filter((dir): dir is string => dir !== null));
}

/** What a path names: a dataset is a file, a command's working folder (runner.cwd) a folder. */
export type PathKind = "file" | "folder";

function existing(candidate: string, kind: PathKind): boolean {
  try {
    const stats = statSync(candidate);
    return kind === "file" ? stats.isFile() : stats.isDirectory();
  } catch {
    return false;
  }
}

/** The closest folder above `target` (or `target` itself) that exists, no higher than `root`; null when none does. */
function nearestExisting(target: string, root: string): string | null {
  for (let current = target; inside(root, current); current = path.dirname(current)) {
    if (existsSync(current)) return current;
    if (path.dirname(current) === current) break;
  }
  return null;
}

export type DatasetPathCheck = { path: string; root: DatasetRoot } | { path: null; root: null };

/**
 * Checks a dataset path against the roots. Returns the file's real path and the root it was found in,
 * or `{ path: null }` when the path is allowed but no root holds it (a remote worker may have it in
 * its own SCALEBOARD_DATASETS_DIR). Throws DatasetPathError("outside") for a path the rule refuses.
 */
export function checkDatasetPath(
  file: string,
  roots: readonly DatasetRoot[],
  options: { anyAbsolute?: boolean; kind?: PathKind; subject?: string } = {},
): DatasetPathCheck {
  const kind = options.kind ?? "file";
  const rule = datasetRule(roots, options.subject);
  if (file.includes("\u0000")) throw new DatasetPathError(`${rule}; a path cannot contain a NUL character`, "outside");
  const allowed = rootDirs(roots);
  const refuse = (why: string) => new DatasetPathError(`${rule}; ${shown(file)} ${why}`, "outside");
  const escapes = (real: string) => !options.anyAbsolute && !allowed.some((dir) => inside(dir, real));
  const confined = (candidate: string, root: DatasetRoot): DatasetPathCheck | null => {
    if (!existing(candidate, kind)) {
      // A missing file under a link out of the root is refused like an existing one, so the answer
      // never tells whether a file exists outside the roots.
      const ancestor = nearestExisting(candidate, root.dir);
      if (ancestor !== null && escapes(realpathSync(ancestor)))
        throw refuse("leads outside them through a symbolic link");
      return null;
    }
    const real = realpathSync(candidate);
    if (escapes(real)) throw refuse("leads outside them through a symbolic link");
    return { path: real, root };
  };

  if (path.isAbsolute(file)) {
    const target = path.resolve(file);
    const root = roots.find((candidate) =>
      [candidate.dir, realDir(candidate.dir)].some((dir) => dir !== null && inside(dir, target)),
    );
    if (!root && !options.anyAbsolute) throw refuse("is not");
    return (
      confined(target, root ?? { name: "an absolute path", dir: path.dirname(target) }) ?? { path: null, root: null }
    );
  }

  const normalised = path.normalize(file);
  if (normalised === ".." || normalised.startsWith(`..${path.sep}`)) throw refuse("climbs out of them with ..");
  for (const root of roots) {
    const found = confined(path.resolve(root.dir, normalised), root);
    if (found) return found;
  }
  return { path: null, root: null };
}

/** The file to read: like checkDatasetPath, but a path no root holds is an error naming the roots (not their server paths). */
export function resolveDatasetPath(
  file: string,
  roots: readonly DatasetRoot[],
  options: { anyAbsolute?: boolean } = {},
): string {
  const found = checkDatasetPath(file, roots, options);
  if (found.path === null) {
    const where = path.isAbsolute(file) ? "" : ` in ${roots.map((root) => root.name).join(", ")}`;
    throw new DatasetPathError(`dataset.path: ${shown(file)} not found${where}`, "missing");
  }
  return found.path;
}
