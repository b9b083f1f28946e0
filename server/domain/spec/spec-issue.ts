import { closest, distance } from "fastest-levenshtein";
import { type Document, isMap, isPair, isScalar, type LineCounter, type Node } from "yaml";

/** One problem in a spec, located in the file when possible. */
export type SpecIssue = { path: string; message: string; line: number | null; column: number | null };

/** A spec with thousands of mistakes (60k unknown keys, say) gets its first issues and a count, not a response as large as the spec. */
export const MAX_SPEC_ISSUES = 100;

/** The issue that stands for those not listed. */
export function moreIssues(omitted: number | null): SpecIssue {
  const count = omitted === null ? "more issues" : `${omitted} more issue${omitted === 1 ? "" : "s"}`;
  return {
    path: "",
    message: `${count} not shown: Scaleboard reports the first ${MAX_SPEC_ISSUES} issues of a spec`,
    line: null,
    column: null,
  };
}

export class SpecError extends Error {
  override name = "SpecError";
  readonly issues: SpecIssue[];
  constructor(
    issues: SpecIssue[],
    readonly fileName = "spec",
  ) {
    // One slot more than the cap leaves room for a list that already ends with its own count.
    const capped =
      issues.length > MAX_SPEC_ISSUES + 1 ? [...issues.slice(0, MAX_SPEC_ISSUES), moreIssues(null)] : issues;
    super(formatIssues(capped, fileName));
    this.issues = capped;
  }
}

/** `sweep.parameters.width[2]`: keys joined with dots, array indices in brackets. */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

export function formatIssues(issues: SpecIssue[], fileName: string): string {
  return issues
    .map(
      (issue) =>
        `${fileName}:${issue.line ?? "?"}:${issue.column ?? "?"}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`,
    )
    .join("\n");
}

/** Finds where a path points in the YAML document (the key node when `atKey`, else the value). */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly (string | number)[],
  atKey = false,
): { line: number | null; column: number | null } {
  let node: unknown = doc.contents;
  let lastKeyNode: Node | null = null;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(part),
      );
      if (!pair) break;
      lastKeyNode = pair.key as Node;
      node = pair.value;
    } else if (
      node &&
      typeof node === "object" &&
      "items" in node &&
      Array.isArray((node as { items: unknown[] }).items) &&
      typeof part === "number"
    ) {
      const next = (node as { items: unknown[] }).items[part];
      if (next === undefined) break;
      lastKeyNode = null;
      node = next;
    } else {
      break;
    }
  }
  const target = (atKey && lastKeyNode ? lastKeyNode : (node as Node | null)) ?? lastKeyNode;
  const offset = target && "range" in target && target.range ? target.range[0] : null;
  if (offset === null) return { line: 1, column: 1 };
  const position = lineCounter.linePos(offset);
  return { line: position.line, column: position.col };
}

/** A suggestion for a misspelt name, when one is close enough to be a likely typo. */
export function didYouMean(name: string, known: readonly string[]): string | null {
  if (known.length === 0) return null;
  const best = closest(name, [...known]);
  return distance(name.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}
