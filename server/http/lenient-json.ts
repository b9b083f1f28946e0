/**
 * JSON as Python's json.dumps (what requests and the SDKs send) writes it: bare NaN, Infinity and -Infinity
 * outside strings are read as the strings "NaN", "Infinity" and "-Infinity", which the schemas accept.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const patched = text.replace(
      /("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)(?=\s*[,\]}])/g,
      (match, quoted: string | undefined) => (quoted ? match : `"${match}"`),
    );
    if (patched !== text) return JSON.parse(patched);
    throw error;
  }
}
