import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Db } from "../../db.ts";
import { env } from "../../env.ts";
import type { SeriesQuery } from "./query-series.ts";

/**
 * What a series answer was computed by: the app's build (a new build may answer differently), else
 * this process's start.
 */
const BUILD = (() => {
  try {
    const dir = env().SCALEBOARD_NEXT_DIST_DIR ?? ".next";
    return readFileSync(path.join(/*turbopackIgnore: true*/ process.cwd(), dir, "BUILD_ID"), "utf8").trim();
  } catch {
    return `started ${Date.now()}`;
  }
})();

/**
 * A validator (an HTTP entity tag) for the answer metrics.series gives `input` now: it changes whenever
 * that answer may. querySeries reads only the runs' series of the metric and of the x axis, and every
 * write to a series' points (appended, replaced or cut) rewrites its summary row, with its point count,
 * last and extreme values and `updatedAt` (ms); the tag hashes those rows (absent ones too, by their absence), the request and the
 * build. Read before the answer is computed: a write in between leaves an older tag on newer points,
 * which the next request replaces, never the reverse.
 */
export async function seriesVersion(db: Pick<Db, "$queryRaw">, input: SeriesQuery): Promise<string> {
  const keys = [...new Set([input.key, ...(input.x && input.x !== "step" ? [input.x] : [])])];
  const rows = await db.$queryRaw<{ rows: string | null }[]>`
    SELECT string_agg(s.number || ':' || s."runId" || ':' || s.key || ':' || s."pointCount" || ':' ||
                      concat_ws(':', s."lastStep", s."lastValue", s."minValue", s."maxValue") || ':' ||
                      (extract(epoch FROM s."updatedAt") * 1000)::bigint,
                      ',' ORDER BY s.number) AS rows
    FROM "MetricSeries" s WHERE s."runId" = ANY(${[...new Set(input.runIds)]}::text[]) AND s.key = ANY(${keys}::text[])`;
  const hash = createHash("sha256")
    .update(JSON.stringify([BUILD, input]))
    .update("\u0000")
    .update(rows[0]?.rows ?? "");
  return `"s${hash.digest("base64url").slice(0, 32)}"`;
}

/** Whether a request's If-None-Match names `tag` (or is `*`): it then has this very answer. */
export function hasVersion(headers: Headers, tag: string): boolean {
  const names = headers.get("if-none-match");
  if (!names) return false;
  return names.split(",").some((name) => {
    const trimmed = name.trim();
    return trimmed === "*" || trimmed === tag || trimmed === `W/${tag}`;
  });
}
