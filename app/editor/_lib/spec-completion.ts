import type { Completion, CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import type { Text } from "@codemirror/state";
import specSchema from "~/spec.schema.json";

/**
 * Completion of spec keys and enum values from spec.schema.json. The cursor's place in the
 * document (which mapping, which key) is read from the text's indentation and brackets rather
 * than the YAML syntax tree, because a half-typed line usually does not parse.
 */

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema | JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  required?: string[];
  definitions?: Record<string, JsonSchema>;
};

/** A step into a sequence item. */
const ITEM = Symbol("item");
type Segment = string | typeof ITEM;

// TypeScript infers a JSON import's literal shape (siblings' keys as `undefined`), not the recursive JsonSchema it is.
const root = specSchema as unknown as JsonSchema;

/** The concrete schemas a node stands for: `$ref` resolved, `oneOf`/`anyOf`/`allOf` flattened. */
function variants(node: JsonSchema, depth = 0): JsonSchema[] {
  if (depth > 8) return [];
  if (node.$ref) {
    const name = node.$ref.replace(/^#\/definitions\//, "");
    const target = root.definitions?.[name];
    return target ? variants(target, depth + 1) : [];
  }
  const combined = [...(node.oneOf ?? []), ...(node.anyOf ?? []), ...(node.allOf ?? [])];
  if (combined.length === 0) return [node];
  const own = node.properties || node.enum || node.const !== undefined ? [node] : [];
  return [...own, ...combined.flatMap((child) => variants(child, depth + 1))];
}

function childrenAt(nodes: JsonSchema[], segment: Segment): JsonSchema[] {
  const concrete = nodes.flatMap((n) => variants(n));
  if (segment === ITEM)
    return concrete.flatMap((node) => (Array.isArray(node.items) ? node.items : node.items ? [node.items] : []));
  // A named property wins over free-form keys (`range:` in a sweep parameter is not a nested group).
  const named = concrete.flatMap((node) => {
    const property = node.properties?.[segment];
    return property ? [property] : [];
  });
  if (named.length) return named;
  return concrete.flatMap((node) => (typeof node.additionalProperties === "object" ? [node.additionalProperties] : []));
}

function schemasAt(path: readonly Segment[]): JsonSchema[] {
  let nodes = [root];
  for (const segment of path) nodes = childrenAt(nodes, segment);
  return nodes.flatMap((node) => variants(node));
}

function typeLabel(node: JsonSchema): string {
  const all = variants(node);
  const consts = all.filter((v) => v.const !== undefined).map((v) => String(v.const));
  if (consts.length) return consts.join(" | ");
  const enums = all.flatMap((v) => v.enum ?? []).map(String);
  if (enums.length) return enums.join(" | ");
  const types = new Set(
    all.flatMap((v) => (Array.isArray(v.type) ? v.type : v.type ? [v.type] : v.properties ? ["object"] : [])),
  );
  return [...types].join(" | ");
}

function isObjectOnly(node: JsonSchema): boolean {
  const all = variants(node);
  return all.length > 0 && all.every((v) => v.type === "object" || (v.type === undefined && v.properties));
}

/** Config paths a sweep may vary (`model.width`, `training.optimizer.lr`): the leaves under these sections. */
const SWEEPABLE_SECTIONS = ["dataset", "validation", "model", "training"];
function sweepablePaths(): string[] {
  const paths = new Set<string>();
  const walk = (nodes: JsonSchema[], prefix: string, depth: number) => {
    for (const node of nodes) {
      if (!node.properties || depth > 4) {
        paths.add(prefix);
        continue;
      }
      for (const [key, child] of Object.entries(node.properties)) {
        if (key === "kind" || key === "family") continue;
        walk(variants(child), `${prefix}.${key}`, depth + 1);
      }
    }
  };
  for (const section of SWEEPABLE_SECTIONS) walk(schemasAt([section]), section, 0);
  return [...paths].sort();
}
let sweepableCache: string[] | null = null;

type LineShape = { indent: number; dash: boolean; keyColumn: number; key: string | null; value: string };

/** One line's indentation, its `- ` item marker, and its `key: value` if it has one. */
function shapeOf(text: string): LineShape | null {
  if (/^\s*(#.*)?$/.test(text)) return null;
  const leading = /^( *)(-(?: +|$))?/.exec(text);
  const indent = leading?.[1]?.length ?? 0;
  const dash = Boolean(leading?.[2]);
  const keyColumn = leading?.[0].length ?? 0;
  const pair = /^((?:"[^"]*"|'[^']*'|[^:#{}[\],'"][^:#{}[\],]*?))\s*:(?:\s+(.*?))?\s*(?:#.*)?$/.exec(
    text.slice(keyColumn),
  );
  const key = pair?.[1] ? pair[1].replace(/^["']|["']$/g, "") : null;
  return { indent, dash, keyColumn, key, value: pair?.[2] ?? "" };
}

/**
 * The path of the block mapping whose keys start at `column` on line `lineNumber`, and that
 * mapping's other keys (with their values, to tell `model.family: mlp` from the other families).
 */
function blockContext(doc: Text, lineNumber: number, column: number, lineIsItem: boolean) {
  const path: Segment[] = [];
  const siblings = new Map<string, string>();
  let current = column;
  let collecting = true;
  // After stepping into a sequence item at column c, a plain `key:` at column c is its parent.
  let itemColumn: number | null = null;
  if (lineIsItem) {
    const shape = shapeOf(doc.line(lineNumber).text);
    if (shape) {
      path.unshift(ITEM);
      itemColumn = shape.indent;
    }
  }
  // Keys below the cursor in the same mapping count as siblings too.
  for (let n = lineNumber + 1; n <= doc.lines; n++) {
    const shape = shapeOf(doc.line(n).text);
    if (!shape) continue;
    if (shape.keyColumn > column) continue;
    if (shape.keyColumn < column || shape.dash) break;
    if (shape.key) siblings.set(shape.key, shape.value);
  }
  for (let n = lineNumber - 1; n >= 1; n--) {
    const text = doc.line(n).text;
    if (/^(---|\.\.\.)\s*$/.test(text)) break;
    const shape = shapeOf(text);
    if (!shape) continue;
    if (itemColumn !== null) {
      if (shape.indent > itemColumn || (shape.indent === itemColumn && shape.dash)) continue;
      itemColumn = null;
      if (shape.key) path.unshift(shape.key);
      if (shape.dash) {
        path.unshift(ITEM);
        itemColumn = shape.indent;
      }
      current = shape.keyColumn;
      continue;
    }
    if (shape.keyColumn > current) continue;
    if (shape.keyColumn === current) {
      if (collecting && shape.key) siblings.set(shape.key, shape.value);
      if (shape.dash && !lineIsItem) {
        // This line opened the sequence item the cursor is in.
        path.unshift(ITEM);
        itemColumn = shape.indent;
        collecting = false;
      }
      continue;
    }
    collecting = false;
    if (shape.key) path.unshift(shape.key);
    if (shape.dash) {
      path.unshift(ITEM);
      itemColumn = shape.indent;
    }
    current = shape.keyColumn;
    if (current === 0 && !shape.dash) break;
  }
  return { path, siblings };
}

type Place =
  | {
      kind: "key";
      path: Segment[];
      siblings: Map<string, string>;
      from: number;
      prefix: string;
      column: number;
      flow: boolean;
    }
  | { kind: "value"; path: Segment[]; from: number; prefix: string };

/** Where the cursor is: typing a key of some mapping, or the value of some key. */
function placeAt(doc: Text, pos: number): Place | null {
  const line = doc.lineAt(pos);
  const before = line.text.slice(0, pos - line.from);
  if (/(^|\s)#/.test(before)) return null;

  // Scan the flow collections (`{ ... }`, `[ ... ]`) still open before the cursor.
  const stack: { open: "{" | "["; key: string | null; at: number; segmentStart: number }[] = [];
  let segmentStart = 0;
  let quote: string | null = null;
  for (let i = 0; i < before.length; i++) {
    const ch = before[i];
    if (quote) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "{" || ch === "[") {
      const keyMatch = /^\s*(?:-\s+)?([^:]+?)\s*:\s*$/.exec(before.slice(segmentStart, i));
      stack.push({ open: ch, key: keyMatch?.[1] ?? null, at: i, segmentStart });
      segmentStart = i + 1;
    } else if ((ch === "}" || ch === "]") && stack.length) {
      segmentStart = stack.pop()?.segmentStart ?? 0;
    } else if (ch === "," && stack.length) segmentStart = i + 1;
  }
  if (quote) return null;

  const lineShape = /^( *)((?:-(?: +|$))?)/.exec(line.text);
  const lineIsItem = Boolean(lineShape?.[2]);
  const keyColumn = Math.min(lineShape?.[0].length ?? 0, before.length);
  const block = blockContext(doc, line.number, keyColumn, lineIsItem);

  const path: Segment[] = [...block.path];
  for (const open of stack) {
    if (open.key) path.push(open.key);
    if (open.open === "[") path.push(ITEM);
  }
  const innermost = stack[stack.length - 1];
  if (innermost?.open === "[") {
    const prefix = /[\w./$-]*$/.exec(before)?.[0] ?? "";
    return { kind: "value", path, from: pos - prefix.length, prefix };
  }

  const segment = stack.length ? before.slice(segmentStart) : before.slice(keyColumn);
  const pair = /^\s*([^:]+?)\s*:\s+(.*)$/.exec(segment);
  if (pair?.[1] !== undefined) {
    const prefix = (pair[2] ?? "").trimStart();
    if (!/^[\w./$-]*$/.test(prefix)) return null;
    return { kind: "value", path: [...path, pair[1]], from: pos - prefix.length, prefix };
  }
  const prefix = segment.trimStart();
  if (!/^[\w./$-]*$/.test(prefix)) return null;

  let siblings = block.siblings;
  if (innermost) {
    siblings = new Map();
    const inside = line.text.slice(innermost.at + 1);
    for (const part of inside.split(/[,}]/)) {
      const sibling = /^\s*([\w.$-]+)\s*:\s*([^,{}[\]]*?)\s*$/.exec(part);
      if (sibling?.[1]) siblings.set(sibling[1], sibling[2] ?? "");
    }
    siblings.delete(prefix);
  }
  return {
    kind: "key",
    path,
    siblings,
    from: pos - prefix.length,
    prefix,
    column: keyColumn,
    flow: Boolean(innermost),
  };
}

/** Drops the union members another key rules out (`family: mlp` rules out the transformer's keys). */
function matchingVariants(nodes: JsonSchema[], siblings: Map<string, string>): JsonSchema[] {
  const objects = nodes.filter((node) => node.properties);
  const kept = objects.filter((node) =>
    Object.entries(node.properties ?? {}).every(([key, property]) => {
      if (property.const === undefined || !siblings.has(key)) return true;
      return siblings.get(key)?.replace(/^["']|["']$/g, "") === String(property.const);
    }),
  );
  return kept.length ? kept : objects;
}

function keyOptions(place: Extract<Place, { kind: "key" }>): Completion[] {
  const nodes = schemasAt(place.path);
  const options = new Map<string, Completion>();
  const isSweepParameters =
    (place.path.length === 2 && place.path[0] === "sweep" && place.path[1] === "parameters") ||
    (place.path.length === 3 && place.path[0] === "sweep" && place.path[1] === "zip" && place.path[2] === ITEM);
  if (isSweepParameters) {
    sweepableCache ??= sweepablePaths();
    for (const path of sweepableCache) {
      if (!place.siblings.has(path))
        options.set(path, { label: path, type: "variable", detail: "config path", apply: `${path}: ` });
    }
    return [...options.values()];
  }
  const indent = " ".repeat(place.column + 2);
  for (const node of matchingVariants(nodes, place.siblings)) {
    for (const [key, property] of Object.entries(node.properties ?? {})) {
      if (key === "$schema" || place.siblings.has(key) || options.has(key)) continue;
      const required = node.required?.includes(key) ?? false;
      const nested = !place.flow && isObjectOnly(property);
      const info = [
        property.description,
        property.default !== undefined ? `default: ${JSON.stringify(property.default)}` : null,
      ]
        .filter(Boolean)
        .join("\n");
      options.set(key, {
        label: key,
        type: "property",
        detail: `${typeLabel(property)}${required ? " (required)" : ""}`,
        info: info || undefined,
        boost: required ? 1 : 0,
        apply: nested
          ? (view, _completion, from, to) => {
              const insert = `${key}:\n${indent}`;
              view.dispatch({ changes: { from, to, insert }, selection: { anchor: from + insert.length } });
            }
          : `${key}: `,
      });
    }
  }
  return [...options.values()];
}

function valueOptions(place: Extract<Place, { kind: "value" }>): Completion[] {
  const values = new Map<string, Completion>();
  for (const node of schemasAt(place.path)) {
    for (const value of [...(node.enum ?? []), ...(node.const !== undefined ? [node.const] : [])]) {
      if (values.has(String(value))) continue;
      // Schema order (relu before gelu, grid before random), not alphabetical.
      values.set(String(value), {
        label: String(value),
        type: "enum",
        detail: node.default === value ? "default" : undefined,
        boost: -values.size,
      });
    }
    const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
    if (types.includes("boolean")) {
      for (const value of ["true", "false"])
        if (!values.has(value))
          values.set(value, {
            label: value,
            type: "keyword",
            detail: String(node.default) === value ? "default" : undefined,
          });
    }
  }
  return [...values.values()];
}

/** The CodeMirror completion source for spec files. */
export function specCompletion(context: CompletionContext): CompletionResult | null {
  const place = placeAt(context.state.doc, context.pos);
  if (!place) return null;
  if (!context.explicit && place.prefix === "" && place.kind === "key") return null;
  const options = place.kind === "key" ? keyOptions(place) : valueOptions(place);
  if (options.length === 0) return null;
  return { from: place.from, options, validFor: /^[\w./$-]*$/ };
}
