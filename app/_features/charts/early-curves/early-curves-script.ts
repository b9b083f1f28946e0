import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { EARLY_FILE, EARLY_PATH } from "./early-curves.ts";

let known: { src: string | null } | null = null;

/**
 * The early chart's script URL with its content hash (served for a year: a new build is a new URL),
 * or null where the build made none: the panel then draws alone.
 */
export function earlyCurvesScript(): string | null {
  if (known) return known.src;
  try {
    const code = readFileSync(path.join(/*turbopackIgnore: true*/ process.cwd(), EARLY_FILE));
    known = { src: `${EARLY_PATH}?v=${createHash("sha256").update(code).digest("hex").slice(0, 16)}` };
  } catch {
    known = { src: null };
  }
  return known.src;
}
