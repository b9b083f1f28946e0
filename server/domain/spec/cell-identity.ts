import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import type { CellConfig } from "./spec-schema.ts";

/** Rounds away float noise (0.1 / sqrt(64) computed two ways) and -0, so equal settings hash equally. */
function normaliseNumbers(value: unknown): unknown {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    const rounded = Number(value.toPrecision(12));
    return Object.is(rounded, -0) ? 0 : rounded;
  }
  if (Array.isArray(value)) return value.map(normaliseNumbers);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, normaliseNumbers(item)]),
    );
  }
  return value;
}

/** A cell's identity: sha256 of its resolved config in canonical JSON (RFC 8785: sorted keys). */
export function cellHash(config: CellConfig): string {
  const canonical = canonicalize(normaliseNumbers(config)) ?? "";
  return createHash("sha256").update(canonical).digest("hex");
}
