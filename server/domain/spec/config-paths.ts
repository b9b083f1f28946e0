/** Dotted paths into plain config objects (`model.width`), used by sweeps and expressions. */

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function getPath(target: unknown, path: string): unknown {
  let node = target;
  for (const part of path.split(".")) {
    if (!isPlainObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

/** Sets a value at a dotted path, creating objects on the way; refuses prototype keys. */
export function setPath(target: PlainObject, path: string, value: unknown): void {
  const parts = path.split(".");
  let node: PlainObject = target;
  for (const [index, part] of parts.entries()) {
    if (part === "__proto__" || part === "constructor" || part === "prototype")
      throw new Error(`"${part}" cannot be used in a config path`);
    if (index === parts.length - 1) {
      node[part] = value;
      return;
    }
    const next = node[part];
    if (!isPlainObject(next)) node[part] = {};
    node = node[part] as PlainObject;
  }
}

/** Every leaf of a config as `path -> value` (arrays are leaves). */
export function flattenConfig(
  target: unknown,
  prefix = "",
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  if (!isPlainObject(target)) {
    if (prefix) out[prefix] = target;
    return out;
  }
  for (const [key, value] of Object.entries(target)) flattenConfig(value, prefix ? `${prefix}.${key}` : key, out);
  return out;
}
