import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { BUILT_DIR, BUILT_PATH } from "./early-curves.ts";

const known = new Map<string, string | null>();

/**
 * A script scripts/build-early-curves.ts built (early-curves.js, series-worker.js), as its URL with its
 * content hash (served for a year: a new build is a new URL), or null where the build made none.
 */
function builtScript(file: string): string | null {
  if (known.has(file)) return known.get(file)!;
  let src: string | null;
  try {
    const code = readFileSync(path.join(/*turbopackIgnore: true*/ process.cwd(), BUILT_DIR, file));
    src = `${BUILT_PATH}/${file}?v=${createHash("sha256").update(code).digest("hex").slice(0, 16)}`;
  } catch {
    src = null;
  }
  known.set(file, src);
  return src;
}

/** The early chart's script, or null: the panel then draws alone. */
export function earlyCurvesScript(): string | null {
  return builtScript("early-curves.js");
}

/** The series worker's script (series-worker.ts), or null: the page then preloads the answer itself. */
export function seriesWorkerScript(): string | null {
  return builtScript("series-worker.js");
}
