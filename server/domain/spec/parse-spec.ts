import { type Document, isScalar, LineCounter, parseDocument, visit } from "yaml";
import { z } from "zod";
import { isPlainObject, setPath, type PlainObject } from "./config-paths.ts";
import {
  didYouMean,
  formatPath,
  locate,
  MAX_SPEC_ISSUES,
  moreIssues,
  SpecError,
  type SpecIssue,
} from "./spec-issue.ts";
import { ZSpec, type Spec } from "./spec-schema.ts";
import type { DroppedCell } from "./isoflop-sweep.ts";
import { firstValue, flattenParameters, type SweepParameter } from "./sweep-parameters.ts";

export const MAX_SPEC_BYTES = 1_000_000;

export type ParsedSpec = {
  spec: Spec;
  /** The spec as written (plain JSON), before defaults: cells are built from it. */
  raw: PlainObject;
  fileName: string;
  source: string;
  format: "yaml" | "json";
  parameters: SweepParameter[];
  zipGroups: SweepParameter[][];
  /** The settings an IsoFLOP sweep compares at each budget (sweep.isoflop.parameters). */
  isoflopParameters: SweepParameter[];
  /** Cells an IsoFLOP sweep left out and why: set by expandSweep, for the plan. */
  droppedCells?: DroppedCell[];
  locate: (path: readonly (string | number)[], atKey?: boolean) => { line: number | null; column: number | null };
};

let knownKeys: string[] | undefined;
/** Every setting name the schema knows, for did-you-mean suggestions. */
function schemaKeys(): string[] {
  if (knownKeys) return knownKeys;
  const names = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isPlainObject(node)) return;
    if (isPlainObject(node.properties)) for (const key of Object.keys(node.properties)) names.add(key);
    Object.values(node).forEach(visit);
  };
  visit(z.toJSONSchema(ZSpec, { io: "input", unrepresentable: "any" }));
  knownKeys = [...names];
  return knownKeys;
}

function sweepParameters(raw: PlainObject): {
  parameters: SweepParameter[];
  zipGroups: SweepParameter[][];
  isoflopParameters: SweepParameter[];
} {
  const sweep = raw.sweep;
  if (!isPlainObject(sweep)) return { parameters: [], zipGroups: [], isoflopParameters: [] };
  const parameters = flattenParameters(sweep.parameters, ["sweep", "parameters"]);
  const zipGroups = Array.isArray(sweep.zip)
    ? sweep.zip.map((group, index) => flattenParameters(group, ["sweep", "zip", index]))
    : [];
  const isoflopParameters = isPlainObject(sweep.isoflop)
    ? flattenParameters(sweep.isoflop.parameters, ["sweep", "isoflop", "parameters"])
    : [];
  return { parameters, zipGroups, isoflopParameters };
}

/**
 * An IsoFLOP sweep sets each cell's training.budget itself, so the spec may leave it out (one given
 * is what the spec trains without the sweep); the check before expansion then stands in one step.
 */
function isoflopProbe(raw: PlainObject): void {
  const sweep = raw.sweep;
  if (!isPlainObject(sweep) || sweep.isoflop === undefined || !isPlainObject(raw.training)) return;
  raw.training.budget ??= { steps: 1 };
  const budgets = isPlainObject(sweep.isoflop) ? sweep.isoflop.budgets : undefined;
  if (Array.isArray(budgets) && typeof budgets[0] === "number" && budgets[0] > 0)
    raw.training.isoflopBudget = budgets[0];
}

function valueAt(target: unknown, path: (string | number)[]): unknown {
  let node = target;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

/** A zod issue as a located spec issue; values that came from a sweep are blamed on the sweep entry. */
export function zodIssuesToSpecIssues(
  issues: readonly z.core.$ZodIssue[],
  locateIn: ParsedSpec["locate"],
  swept: readonly SweepParameter[] = [],
  raw?: unknown,
): SpecIssue[] {
  const out: SpecIssue[] = [];
  let omitted = 0;
  // Each issue is located by a walk of the document, so only the reported ones may cost that.
  const room = () => out.length < MAX_SPEC_ISSUES;
  for (const issue of issues) {
    if (!room() && issue.code !== "unrecognized_keys") {
      omitted += 1;
      continue;
    }
    const path = issue.path.filter((part): part is string | number => typeof part !== "symbol");
    if (issue.code === "invalid_key") {
      const nested = (issue as { issues?: { message: string }[] }).issues?.[0]?.message ?? issue.message;
      out.push({ path: formatPath(path), message: nested, ...locateIn(path, true) });
      continue;
    }
    if (issue.code === "invalid_type" && raw !== undefined && path.length && valueAt(raw, path) === undefined) {
      const name = String(path.at(-1));
      out.push({ path: formatPath(path), message: `${name} is required`, ...locateIn(path.slice(0, -1)) });
      continue;
    }
    const dotted = path.filter((part) => typeof part === "string").join(".");
    const sweptFrom = swept.find((parameter) => dotted === parameter.path || dotted.startsWith(`${parameter.path}.`));
    if (issue.code === "unrecognized_keys") {
      const known = issue.keys.length > 0 ? schemaKeys() : [];
      for (const key of issue.keys) {
        if (!room()) {
          omitted += 1;
          continue;
        }
        const suggestion = didYouMean(
          key,
          known.filter((name) => name !== key),
        );
        const message = `unknown key "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ""}`;
        const sweptKey = swept.find((parameter) => parameter.path === (dotted ? `${dotted}.${key}` : key));
        if (sweptKey)
          out.push({
            path: formatPath(sweptKey.specPath),
            message: `${sweptKey.path}: ${message}`,
            ...locateIn(sweptKey.specPath, true),
          });
        else out.push({ path: formatPath([...path, key]), message, ...locateIn([...path, key], true) });
      }
    } else if (sweptFrom) {
      out.push({
        path: formatPath(sweptFrom.specPath),
        message: `${sweptFrom.path}: ${issue.message}`,
        ...locateIn(sweptFrom.specPath, true),
      });
    } else {
      out.push({ path: formatPath(path), message: issue.message, ...locateIn(path) });
    }
  }
  if (omitted) out.push(moreIssues(omitted));
  return out;
}

/**
 * Keys repeated within one mapping, found with a set per mapping. The yaml library's own check
 * (uniqueKeys) compares each key with every earlier one: 60,000 keys took minutes.
 */
function duplicateKeyIssues(doc: Document, lineCounter: LineCounter): SpecIssue[] {
  const issues: SpecIssue[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value) && issues.length <= MAX_SPEC_ISSUES) {
          const position = pair.key.range ? lineCounter.linePos(pair.key.range[0]) : null;
          issues.push({
            path: "",
            message: "YAML: Map keys must be unique",
            line: position?.line ?? null,
            column: position?.col ?? null,
          });
        }
        seen.add(pair.key.value);
      }
    },
  });
  return issues;
}

function yamlIssues(doc: Document, lineCounter: LineCounter): SpecIssue[] {
  return [...doc.errors, ...doc.warnings].map((error) => {
    const position = error.linePos?.[0] ?? (error.pos ? lineCounter.linePos(error.pos[0]) : null);
    const firstLine = error.message.split("\n")[0] ?? error.message;
    return {
      path: "",
      message: `YAML: ${firstLine.replace(/ at line \d+, column \d+:?$/, "")}`,
      line: position?.line ?? null,
      column: position?.col ?? null,
    };
  });
}

/**
 * Parses and validates a spec (YAML or JSON). Every problem found is reported at once, each
 * with its file:line:column and path; throws SpecError when there is any.
 */
export function parseSpec(source: string, fileName = "spec.yaml"): ParsedSpec {
  if (Buffer.byteLength(source) > MAX_SPEC_BYTES) {
    throw new SpecError(
      [{ path: "", message: `the spec is larger than ${MAX_SPEC_BYTES / 1_000_000} MB`, line: 1, column: 1 }],
      fileName,
    );
  }
  // PostgreSQL stores neither U+0000 nor a lone surrogate (the spec's source and config are kept as written).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what this looks for (PostgreSQL cannot store it)
  const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(source);
  if (unstorable) {
    const lines = source.slice(0, unstorable.index).split("\n");
    const what = unstorable[0] === "\u0000" ? "a NUL character (\\u0000)" : "an unpaired UTF-16 surrogate";
    throw new SpecError(
      [
        {
          path: "",
          message: `the spec contains ${what}; remove it`,
          line: lines.length,
          column: lines.at(-1)!.length + 1,
        },
      ],
      fileName,
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: true, uniqueKeys: false });
  const locateIn: ParsedSpec["locate"] = (path, atKey = false) => locate(doc, lineCounter, path, atKey);
  const syntax = yamlIssues(doc, lineCounter);
  if (!syntax.length) syntax.push(...duplicateKeyIssues(doc, lineCounter));
  if (syntax.length) throw new SpecError(syntax, fileName);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new SpecError(
      [{ path: "", message: `YAML: ${error instanceof Error ? error.message : String(error)}`, line: 1, column: 1 }],
      fileName,
    );
  }
  if (!isPlainObject(raw)) {
    throw new SpecError(
      [
        {
          path: "",
          message: "a spec is a mapping of settings (project, experiment, dataset, model, training, ...)",
          ...locateIn([]),
        },
      ],
      fileName,
    );
  }

  const { parameters, zipGroups, isoflopParameters } = sweepParameters(raw);
  const probe = structuredClone(raw);
  isoflopProbe(probe);
  const issues: SpecIssue[] = [];
  for (const parameter of [...parameters, ...zipGroups.flat(), ...isoflopParameters]) {
    const value = firstValue(parameter.source);
    if (value === undefined) continue;
    try {
      setPath(probe, parameter.path, value);
    } catch (error) {
      issues.push({
        path: formatPath(parameter.specPath),
        message: (error as Error).message,
        ...locateIn(parameter.specPath, true),
      });
    }
  }
  const result = ZSpec.safeParse(probe);
  if (!result.success)
    issues.push(
      ...zodIssuesToSpecIssues(
        result.error.issues,
        locateIn,
        [...parameters, ...zipGroups.flat(), ...isoflopParameters],
        probe,
      ),
    );
  if (issues.length || !result.success) throw new SpecError(issues, fileName);

  const format = /\.json$/i.test(fileName) || source.trimStart().startsWith("{") ? "json" : "yaml";
  return {
    spec: result.data,
    raw,
    fileName,
    source,
    format,
    parameters,
    zipGroups,
    isoflopParameters,
    locate: locateIn,
  };
}
