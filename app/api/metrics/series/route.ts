import { ZodError } from "zod";
import { createRequestContext } from "~/server/api/request-context.ts";
import { isNearbyClient } from "~/server/http/nearby-client.ts";
import { assertRunsReadable } from "~/server/domain/access/resource-access.ts";
import { APP_ERROR_CODES, AppError } from "~/server/domain/app-error.ts";
import { packSeries } from "~/server/domain/metrics/pack-series.ts";
import { querySeries, ZSeriesQuery } from "~/server/domain/metrics/query-series.ts";
import { hasVersion, seriesVersion } from "~/server/domain/metrics/series-version.ts";
import { pathToUnstorableText, unstorableTextMessage } from "~/server/domain/validation/unstorable-text.ts";

export const dynamic = "force-dynamic";

/** Input fields by their query-string names, so a 400 names what the caller sent. */
const PARAM_NAMES: Record<string, string> = { runIds: "runs", xMin: "xmin", xMax: "xmax" };
const paramPath = (path: readonly PropertyKey[]) =>
  path.map((part) => PARAM_NAMES[String(part)] ?? String(part)).join(".");

function problem(status: number, message: string): Response {
  return Response.json({ error: { message } }, { status, headers: { "cache-control": "no-store" } });
}

/**
 * GET /api/metrics/series?runs=id1,id2&key=val/loss&x=step&points=1000[&xmin=..&xmax=..&smoothing=..]: what
 * metrics.series answers (same input schema, same check: signed in, every run readable, else 404),
 * as plain JSON. The compare page fetches it first (see app/_features/charts/series-request.ts).
 *
 * The answer carries an entity tag (series-version.ts) and may be kept by the browser, asked again
 * each time (no-cache): a reader reopening runs whose points have not changed since gets 304 Not
 * Modified after the same access check, and the points from its own cache.
 */
export async function GET(request: Request): Promise<Response> {
  const ctx = await createRequestContext(request.headers, "GET");
  if (!ctx.actor) return problem(401, ctx.authError ?? "Sign in first");
  const params = new URL(request.url).searchParams;
  const number = (name: string) => (params.has(name) ? Number(params.get(name)) : undefined);
  const raw = {
    runIds: (params.get("runs") ?? "").split(",").filter(Boolean),
    key: params.get("key") ?? "",
    x: params.get("x") ?? undefined,
    points: number("points"),
    xMin: number("xmin"),
    xMax: number("xmax"),
    smoothing: number("smoothing"),
  };
  const unstorable = pathToUnstorableText(raw);
  if (unstorable !== null) return problem(400, unstorableTextMessage(paramPath(unstorable.split("."))));
  try {
    const input = ZSeriesQuery.parse(raw);
    await assertRunsReadable(ctx.db, ctx.actor, input.runIds);
    const headers = {
      etag: await seriesVersion(ctx.db, input),
      // Next.js's gzip honours no-transform: on a LAN the plain answer arrives sooner than gzip could make it.
      "cache-control": isNearbyClient(request.headers) ? "private, no-cache, no-transform" : "private, no-cache",
      vary: "Cookie, Authorization",
    };
    if (hasVersion(request.headers, headers.etag)) return new Response(null, { status: 304, headers });
    return Response.json(packSeries(await querySeries(ctx.db, input)), { headers });
  } catch (error) {
    if (error instanceof ZodError) {
      const issues = error.issues.map((issue) => `${paramPath(issue.path) || "query"}: ${issue.message}`);
      return problem(400, `Invalid request: ${issues.slice(0, 5).join("; ")}`);
    }
    if (error instanceof AppError) return problem(APP_ERROR_CODES[error.code].http, error.message);
    throw error;
  }
}
