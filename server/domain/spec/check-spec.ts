import { AppError } from "../app-error.ts";
import { confineDatasetPaths } from "../datasets/confine-dataset-paths.ts";
import { expandSweep, type Cell } from "./expand-sweep.ts";
import { parseSpec, type ParsedSpec } from "./parse-spec.ts";
import { SpecError, type SpecIssue } from "./spec-issue.ts";

/**
 * What the web server asks of a spec: its cell count (the editor) or its cells (plan, apply).
 * `specFolder` is a dataset root only for the local CLI in single-user mode (server/domain/datasets/local-spec-folder.ts).
 */
export type SpecCheck = {
  source: string;
  fileName: string;
  force: boolean;
  want: "count" | "cells";
  specFolder?: string | null;
};

/** A parsed spec as it crosses a thread boundary: everything but `locate`, a closure over the YAML document. */
export type PortableParsedSpec = Omit<ParsedSpec, "locate">;

export type SpecCheckResult =
  | { kind: "checked"; parsed: PortableParsedSpec; cells: Cell[] | null; cellCount: number }
  | { kind: "invalid"; issues: SpecIssue[]; fileName: string }
  | { kind: "too-large"; message: string };

/**
 * Parses, validates and expands a spec and confines its CSV paths to the dataset roots, with every
 * outcome as plain data (no Error objects, no closures), so it can run in a worker thread
 * (server/domain/spec/spec-pool.ts) and its answer be posted back. Unexpected errors still throw.
 */
export function checkSpec(check: SpecCheck): SpecCheckResult {
  try {
    const { locate: _locate, ...parsed } = parseSpec(check.source, check.fileName);
    const located = { ...parsed, locate: _locate };
    // CSV paths outside the dataset roots are an issue at dataset.path, like any bad spec.
    const cells = confineDatasetPaths(located, expandSweep(located, { force: check.force }), {
      specFolder: check.specFolder ?? null,
    });
    // The expansion records on the spec the cells an IsoFLOP sweep dropped; the plan shows them.
    return {
      kind: "checked",
      parsed: { ...parsed, droppedCells: located.droppedCells ?? [] },
      cells: check.want === "cells" ? cells : null,
      cellCount: cells.length,
    };
  } catch (error) {
    if (error instanceof SpecError) return { kind: "invalid", issues: error.issues, fileName: error.fileName };
    if (error instanceof AppError && error.code === "TOO_LARGE") return { kind: "too-large", message: error.message };
    throw error;
  }
}
