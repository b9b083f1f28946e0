/** PostgreSQL stores neither U+0000 nor a lone surrogate in text or jsonb. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what this looks for (PostgreSQL cannot store it)
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether a JSON text can hold such text at all: JSON.parse reads no raw control character inside a
 * string and a UTF-8 body decodes to no lone surrogate, so only the escapes \u0000 and \ud800-\udfff
 * can produce one. A cheap scan of the text spares walking every field of a large body that has none.
 */
export function mayHoldUnstorableText(json: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a raw U+0000 is one of the things this looks for
  return /\\u(?:0000|[dD][89a-fA-F])|[\u0000\ud800-\udfff]/.test(json);
}

/**
 * Where the first text PostgreSQL cannot store is in a request body (a dotted path, "" for the
 * body itself), or null: such input is refused with a 400 naming the field, never a 500 from the database.
 */
export function pathToUnstorableText(value: unknown, path = ""): string | null {
  if (typeof value === "string") return UNSTORABLE.test(value) ? path : null;
  if (value === null || typeof value !== "object") return null;
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (UNSTORABLE.test(key)) return at;
    const found = pathToUnstorableText(item, at);
    if (found !== null) return found;
  }
  return null;
}

export function unstorableTextMessage(path: string): string {
  return `Invalid request: ${path || "body"}: text may not contain the NUL character (\\u0000) or an unpaired surrogate (\\ud800-\\udfff)`;
}
