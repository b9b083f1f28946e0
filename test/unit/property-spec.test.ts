import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { AppError } from "../../server/domain/app-error.ts";
import { expandSweep } from "../../server/domain/spec/expand-sweep.ts";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";
import { SpecError } from "../../server/domain/spec/spec-issue.ts";

/**
 * Property tests for the spec parser and the sweep expansion: whatever a user types, Scaleboard
 * answers with cells or with a located validation error (file:line:column and the setting's path),
 * never a TypeError or a stack trace; and a cell's identity does not depend on how keys are ordered.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Valid specs to mutate: the shipped examples (the hostile-but-valid corpus holds shell commands, fine to parse). */
const VALID_SOURCES = [
  ...readdirSync(join(ROOT, "examples"))
    .filter((name) => name.endsWith(".yaml"))
    .map((name) => readFileSync(join(ROOT, "examples", name), "utf8")),
  ...readdirSync(join(ROOT, "test/fixtures/hostile-but-valid-specs"))
    .filter((name) => name.endsWith(".yaml"))
    .map((name) => readFileSync(join(ROOT, "test/fixtures/hostile-but-valid-specs", name), "utf8")),
];
const VALID_SPECS = VALID_SOURCES.map((source) => parseYaml(source) as Record<string, unknown>);

type Outcome =
  | { kind: "cells"; hashes: string[] }
  | { kind: "spec-error"; error: SpecError }
  | { kind: "too-large"; error: AppError };

/** Parses and expands; anything thrown other than the two answers a user may get is rethrown (and fails the property). */
function parseAndExpand(source: string, fileName: string): Outcome {
  try {
    const cells = expandSweep(parseSpec(source, fileName));
    return { kind: "cells", hashes: cells.map((cell) => cell.cellHash) };
  } catch (error) {
    if (error instanceof SpecError) return { kind: "spec-error", error };
    if (error instanceof AppError && error.code === "TOO_LARGE") return { kind: "too-large", error };
    throw error;
  }
}

/** A SpecError a user can act on: at least one issue, each with a message and a line/column in the file. */
function expectLocated(outcome: Outcome, fileName: string, source: string): void {
  const lines = source.split("\n").length;
  if (outcome.kind === "spec-error") {
    const { error } = outcome;
    expect(error.issues.length).toBeGreaterThan(0);
    for (const issue of error.issues) {
      expect(typeof issue.path).toBe("string");
      expect(issue.message.trim().length, JSON.stringify(issue)).toBeGreaterThan(0);
      expect(issue.line, `no line for ${JSON.stringify(issue)}`).toBeGreaterThanOrEqual(1);
      expect(issue.column, `no column for ${JSON.stringify(issue)}`).toBeGreaterThanOrEqual(1);
      expect(issue.line, `line past the end of the file for ${JSON.stringify(issue)}`).toBeLessThanOrEqual(lines);
    }
    expect(error.message.startsWith(`${fileName}:`)).toBe(true);
  } else if (outcome.kind === "too-large") {
    expect(outcome.error.message).toContain(fileName);
  }
}

// ---------- generators ----------

const SETTING_NAMES = [
  "project",
  "experiment",
  "dataset",
  "model",
  "training",
  "sweep",
  "kind",
  "family",
  "width",
  "depth",
  "steps",
  "lr",
  "parameters",
  "seeds",
  "zip",
  "derive",
  "where",
  "range",
  "from",
  "to",
  "values",
  "budget",
  "optimizer",
];

/** JSON-ish values, biased towards the spec's own key names so the parser goes deep. */
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1, 0.5, 1e308, -1e-300, "", "NaN", ".inf", "~", "x"),
    fc.double(),
    fc.integer(),
    fc.string({ maxLength: 12 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...SETTING_NAMES), fc.string({ maxLength: 8 })), tie("value"), {
      maxKeys: 5,
    }),
  ),
})).value;

/** Text that looks like YAML: indentation, colons, dashes, brackets, anchors, tags, quotes, tabs. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "\n",
        "  ",
        "\t",
        ": ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "!!str ",
        "!!binary ",
        "<<: ",
        '"',
        "'",
        "#",
        "---\n",
        "...",
        "? ",
        "|\n",
        ">-\n",
        "%YAML 1.2\n",
      ),
      fc.constantFrom(...SETTING_NAMES),
      fc.string({ maxLength: 6 }),
      fc.string({ maxLength: 3, unit: "binary" }),
      fc.integer().map(String),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(""));

type PathPart = string | number;

function pathsOf(value: unknown, prefix: PathPart[] = [], out: PathPart[][] = []): PathPart[][] {
  out.push(prefix);
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      pathsOf(item, [...prefix, index], out);
    });
  } else if (value && typeof value === "object")
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  return out;
}

function parentAndKey(root: unknown, path: PathPart[]): { parent: Record<PathPart, unknown>; key: PathPart } | null {
  if (path.length === 0) return null;
  let node = root as Record<PathPart, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<PathPart, unknown>;
  return { parent: node, key: path.at(-1)! };
}

type Mutation = { at: number; kind: "replace" | "delete" | "rename" | "insert" | "wrap"; value: unknown; name: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("replace", "delete", "rename", "insert", "wrap"),
  value: jsonish,
  name: fc.oneof(
    fc.constantFrom(...SETTING_NAMES, "widht", "__proto__", "constructor", "toString", "model.width"),
    fc.string({ maxLength: 8 }),
  ),
});

/** Applies a few random edits to a copy of a valid spec: a user's typo, deletion, wrong type or stray key. */
function mutate(spec: Record<string, unknown>, mutations: Mutation[]): unknown {
  let root: unknown = structuredClone(spec);
  for (const change of mutations) {
    const paths = pathsOf(root);
    const path = paths[change.at % paths.length]!;
    const target = parentAndKey(root, path);
    if (!target) {
      if (change.kind === "replace") root = change.value;
      continue;
    }
    const { parent, key } = target;
    if (change.kind === "replace") parent[key] = change.value;
    else if (change.kind === "wrap") parent[key] = [parent[key]];
    else if (change.kind === "delete") {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (change.kind === "rename" && !Array.isArray(parent)) {
      const value = parent[key];
      delete parent[key];
      Object.defineProperty(parent, change.name, { value, enumerable: true, writable: true, configurable: true });
    } else if (change.kind === "insert") {
      const inside = parent[key];
      if (inside && typeof inside === "object" && !Array.isArray(inside)) {
        Object.defineProperty(inside, change.name, {
          value: change.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (Array.isArray(inside)) inside.push(change.value);
    }
  }
  return root;
}

/** The same object with every mapping's keys in another order (arrays keep theirs: order means something there). */
function reorderKeys(value: unknown, order: number[], depth = 0): unknown {
  if (Array.isArray(value)) return value.map((item) => reorderKeys(item, order, depth + 1));
  if (!value || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const shuffled = entries.map((entry, index) => ({
    entry,
    rank: order[(index + depth) % order.length]! * 1000 + index,
  }));
  // A rank from the generated permutation, so the shrinker can find the order that matters.
  shuffled.sort((a, b) => a.rank - b.rank || a.entry[0].localeCompare(b.entry[0]));
  return Object.fromEntries(shuffled.map(({ entry: [key, item] }) => [key, reorderKeys(item, order, depth + 1)]));
}

const asFile = fc.constantFrom<["yaml" | "json", string]>(["yaml", "spec.yaml"], ["json", "spec.json"]);
function serialise(value: unknown, format: "yaml" | "json"): string {
  return format === "json" ? (JSON.stringify(value, null, 2) ?? "null") : stringifyYaml(value);
}

describe("spec parsing and expansion (properties)", () => {
  it("answers any YAML-looking text with cells or a located SpecError", () => {
    fc.assert(
      fc.property(yamlish, (source) => {
        expectLocated(parseAndExpand(source, "typed.yaml"), "typed.yaml", source);
      }),
      { numRuns: 2000 },
    );
  });

  it("answers any JSON-ish value, written as YAML or JSON, with cells or a located SpecError", () => {
    fc.assert(
      fc.property(jsonish, asFile, (value, [format, fileName]) => {
        const source = serialise(value, format);
        expectLocated(parseAndExpand(source, fileName), fileName, source);
      }),
      { numRuns: 1000 },
    );
  });

  it("answers randomly broken copies of the valid examples with cells or a located SpecError", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: VALID_SPECS.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        asFile,
        (index, mutations, [format, fileName]) => {
          const source = serialise(mutate(VALID_SPECS[index]!, mutations), format);
          expectLocated(parseAndExpand(source, fileName), fileName, source);
        },
      ),
      { numRuns: 600 },
    );
  });

  it("points at a character that cannot be stored (NUL, unpaired surrogate) wherever it is", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: VALID_SOURCES.length - 1 }),
        fc.nat(),
        fc.constantFrom("\u0000", "\ud800", "\udfff"),
        (index, at, bad) => {
          const valid = VALID_SOURCES[index]!;
          const offset = at % (valid.length + 1);
          const source = valid.slice(0, offset) + bad + valid.slice(offset);
          const outcome = parseAndExpand(source, "spec.yaml");
          expect(outcome.kind).toBe("spec-error");
          if (outcome.kind !== "spec-error") return;
          const lines = valid.slice(0, offset).split("\n");
          expect(outcome.error.issues[0]).toMatchObject({ line: lines.length, column: lines.at(-1)!.length + 1 });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("gives the same cells, with the same identities, whatever the order of the keys", () => {
    const sweeps = fc.record({
      widths: fc.uniqueArray(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 4 }),
      lrs: fc.uniqueArray(fc.constantFrom(0.1, 0.01, 0.003, 0.001, 3e-4), { minLength: 1, maxLength: 3 }),
      seeds: fc.integer({ min: 1, max: 3 }),
      derive: fc.boolean(),
      where: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.nat({ max: VALID_SPECS.length - 1 }),
        sweeps,
        fc.array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 8 }),
        asFile,
        (index, sweep, order, [format, fileName]) => {
          const base = structuredClone(VALID_SPECS[index]!);
          const model = base.model as Record<string, unknown>;
          const widthKey = model.family === "mlp" ? "model.width" : null;
          base.sweep = {
            parameters: {
              ...(widthKey ? { [widthKey]: sweep.widths } : {}),
              training: { optimizer: { lr: sweep.lrs } },
            },
            seeds: sweep.seeds,
            ...(sweep.derive ? { derive: { "training.batchSize": "8 * 4" } } : {}),
            ...(sweep.where && widthKey ? { where: "model.width >= 1" } : {}),
          };
          const original = parseAndExpand(serialise(base, format), fileName);
          const reordered = parseAndExpand(serialise(reorderKeys(base, order), format), fileName);
          expect(original.kind).toBe("cells");
          expect(reordered.kind).toBe("cells");
          if (original.kind !== "cells" || reordered.kind !== "cells") return;
          expect([...reordered.hashes].sort()).toEqual([...original.hashes].sort());
          expect(new Set(original.hashes).size).toBe(original.hashes.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("gives a cell the same identity whether it comes from a sweep or is written out in full", () => {
    const base = VALID_SPECS.find((spec) => (spec.model as { family?: string }).family === "mlp")!;
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 256 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 8 }),
        (widths, order) => {
          const swept = structuredClone(base);
          swept.sweep = { parameters: { "model.width": widths } };
          const fromSweep = parseAndExpand(stringifyYaml(swept), "swept.yaml");
          const written = widths.map((width) => {
            const single = structuredClone(base);
            delete single.sweep;
            (single.model as Record<string, unknown>).width = width;
            return parseAndExpand(stringifyYaml(reorderKeys(single, order)), "single.yaml");
          });
          expect(fromSweep.kind).toBe("cells");
          if (fromSweep.kind !== "cells") return;
          expect(written.map((outcome) => (outcome.kind === "cells" ? outcome.hashes[0] : outcome.kind))).toEqual(
            fromSweep.hashes,
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});
