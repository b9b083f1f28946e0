import { randomUUID } from "node:crypto";
import { z, ZodError, type ZodType } from "zod";
import type { Db } from "../db.ts";
import type { Actor } from "../domain/access/actor.ts";
import { APP_ERROR_CODES, AppError } from "../domain/app-error.ts";
import { verifyApiKeyForUse } from "../domain/api-key/verify-api-key.ts";
import { assertRunInKeyReach } from "../domain/access/resource-access.ts";
import { ingestPoints, type MetricPointInput } from "../domain/metrics/ingest-points.ts";
import { databaseUnavailable } from "./database-unavailable.ts";
import {
  createTrackedRun,
  finishTrackedRun,
  findTeamRun,
  heartbeatTrackedRun,
  updateTrackedRun,
} from "../domain/tracking/track-run.ts";
import type { RunQueue } from "../queue/boss.ts";
import {
  mayHoldUnstorableText,
  pathToUnstorableText,
  unstorableTextMessage,
} from "../domain/validation/unstorable-text.ts";
import { openApiDocument } from "./openapi.ts";
import {
  MAX_BODY_BYTES,
  MAX_POINTS,
  MAX_STEP,
  ZAttachRunBody,
  ZCreateRunBody,
  ZFinishBody,
  ZHeartbeatBody,
  ZLogPointsBody,
  ZSummaryBody,
} from "./v1-schemas.ts";
import { handleWorkerApi } from "./worker-api.ts";
import { listExperimentsForKey, listRunsForKey, readPointsForKey, readRunForKey } from "./v1-read.ts";
import { readScalingForKey } from "./v1-scaling.ts";
import { requestLogger } from "../log.ts";
import { parseLenientJson } from "./lenient-json.ts";

/**
 * /api/v1: the HTTP logging API for runs trained anywhere (PyTorch, JAX, a shell script).
 * Bearer API keys with scope ingest or full; every answer is JSON; bad input is a 4xx naming the field.
 */

type KeyActor = Extract<Actor, { kind: "apiKey" }>;

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

function problem(status: number, message: string, issues?: { path: string; message: string }[]): Response {
  return json({ error: { message, ...(issues ? { issues } : {}) } }, status);
}

type LogPointsBody = z.infer<typeof ZLogPointsBody>;
const POINT_FIELDS = new Set(["key", "step", "value", "wallTime"]);
const VALUE_NAMES = new Set(["NaN", "Infinity", "-Infinity"]);

/**
 * ZLogPointsBody's rules written out for the body every logging client sends, the body itself when it
 * passes them, else null: zod then parses it and names what is wrong. zod's walk over 1,000 points
 * cost as much as the rest of the request's own work, and this is the API's hot path.
 */
export function pointsBodyAsIs(parsed: unknown): LogPointsBody | null {
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return null;
  for (const field in parsed) if (field !== "points") return null;
  const points = (parsed as { points?: unknown }).points;
  if (!Array.isArray(points) || points.length < 1 || points.length > MAX_POINTS) return null;
  for (const point of points as unknown[]) {
    if (point === null || typeof point !== "object" || Array.isArray(point)) return null;
    for (const field in point) if (!POINT_FIELDS.has(field)) return null;
    const { key, step, value, wallTime } = point as Record<string, unknown>;
    if (typeof key !== "string" || key.length < 1 || key.length > 200) return null;
    if (typeof step !== "number" || !Number.isInteger(step) || step < 0 || step > MAX_STEP) return null;
    if (typeof value === "number" ? !Number.isFinite(value) : typeof value !== "string" || !VALUE_NAMES.has(value))
      return null;
    if (wallTime !== undefined && (typeof wallTime !== "number" || !Number.isFinite(wallTime))) return null;
  }
  return parsed as LogPointsBody;
}

async function readBody<T>(request: Request, schema: ZodType<T>, asIs?: (parsed: unknown) => T | null): Promise<T> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES)
    throw new AppError(
      "TOO_LARGE",
      `The body is ${declared} bytes; the limit is ${MAX_BODY_BYTES} bytes (1 MB). Send points in smaller batches.`,
    );
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new AppError(
        "TOO_LARGE",
        `The body is over ${MAX_BODY_BYTES} bytes (1 MB). Send points in smaller batches.`,
      );
    }
    chunks.push(value);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  let parsed: unknown;
  try {
    parsed = text.trim() ? parseLenientJson(text) : {};
  } catch (error) {
    throw new AppError("INVALID_INPUT", `The body is not valid JSON: ${(error as Error).message}`);
  }
  const points = (parsed as { points?: unknown } | null)?.points;
  if (Array.isArray(points) && points.length > MAX_POINTS) {
    throw new AppError(
      "TOO_LARGE",
      `${points.length} points in one request; the limit is ${MAX_POINTS.toLocaleString("en-US")}. Send them in smaller batches.`,
    );
  }
  const unstorable = mayHoldUnstorableText(text) ? pathToUnstorableText(parsed) : null;
  if (unstorable !== null) {
    throw new AppError("INVALID_INPUT", unstorableTextMessage(unstorable));
  }
  return asIs?.(parsed) ?? schema.parse(parsed);
}

function toNumber(value: number | "NaN" | "Infinity" | "-Infinity"): number {
  return typeof value === "number"
    ? value
    : value === "NaN"
      ? Number.NaN
      : value === "Infinity"
        ? Number.POSITIVE_INFINITY
        : Number.NEGATIVE_INFINITY;
}

async function authenticate(db: Db, request: Request): Promise<KeyActor> {
  const header = request.headers.get("authorization") ?? "";
  if (!header.toLowerCase().startsWith("bearer "))
    throw new AppError("UNAUTHORIZED", "Send an API key: Authorization: Bearer <key> (create one on the Team page)");
  // A key acts with the lesser of its scope and its creator's current role: a viewer's key reads only.
  const actor = await verifyApiKeyForUse(
    db,
    header.slice(7).trim(),
    "ingest",
    request.method === "GET" ? "viewer" : "editor",
  );
  if (!actor) throw new AppError("UNAUTHORIZED", "Invalid, expired or revoked API key");
  return actor;
}

/** A command run's key (bound to its run, Actor.runId) writes to that run only: any other run answers as missing. */
function refuseOtherRun(actor: KeyActor, runId: string): void {
  assertRunInKeyReach(actor, runId, `Run ${runId} not found`);
}

export async function handleV1(
  db: Db,
  request: Request,
  path: string[],
  options: { queue?: () => Promise<RunQueue> } = {},
): Promise<Response> {
  try {
    const [resource, runId, action, ...rest] = path;
    const method = request.method;
    if (resource === "openapi.json" && path.length === 1 && method === "GET") return json(openApiDocument());
    // Workers on other hosts (a worker-scoped key instead of DATABASE_URL): server/http/worker-api.ts.
    if (resource === "worker") {
      const answer = await handleWorkerApi(db, request, path.slice(1), options.queue);
      if (answer) return answer;
      return problem(404, `No such endpoint: ${method} /api/v1/${path.join("/")}; see /api/v1/openapi.json`);
    }
    const noSuchEndpoint = () =>
      problem(404, `No such endpoint: ${method} /api/v1/${path.join("/")}; see /api/v1/openapi.json`);
    if (resource === "experiments") {
      if (method !== "GET" || rest.length || (runId ? action !== "scaling" : action)) return noSuchEndpoint();
      const actor = await authenticate(db, request);
      if (!runId) return json(await listExperimentsForKey(db, actor, request.url));
      return json(await readScalingForKey(db, actor, runId, request.url));
    }
    if (resource !== "runs" || rest.length) return noSuchEndpoint();
    const actor = await authenticate(db, request);
    const teamId = actor.teamId;
    if (method === "GET") {
      if (!runId) return json(await listRunsForKey(db, actor, request.url));
      if (!action) return json(await readRunForKey(db, actor, runId));
      if (action === "points") return json(await readPointsForKey(db, actor, runId, request.url));
      return noSuchEndpoint();
    }
    // A points body is read first (a bad body answers 400 whatever the run); every other call is checked here.
    if (runId && !(action === "points" && method === "POST")) refuseOtherRun(actor, runId);

    if (!runId && method === "POST") {
      const body = await readBody(request, z.union([ZAttachRunBody, ZCreateRunBody]));
      if ("runId" in body) {
        refuseOtherRun(actor, body.runId);
        const run = await findTeamRun(db, teamId, body.runId);
        return json({ runId: run.id, name: run.name, experimentId: run.experimentId, status: run.status }, 200);
      }
      if (actor.runId !== undefined)
        throw new AppError(
          "FORBIDDEN",
          `This key belongs to command run ${actor.runId} and logs to that run only; attach with {"runId": "${actor.runId}"} (SCALEBOARD_RUN_ID)`,
        );
      return json(await createTrackedRun(db, teamId, body), 201);
    }
    if (runId && method === "POST") {
      switch (action) {
        case "points": {
          // The run is looked up while the body is read and checked; a bad body still answers first.
          const run = findTeamRun(db, teamId, runId);
          // Not swallowed: awaited below; this only keeps a failure from being unhandled while the body is read.
          run.catch(() => undefined);
          const body = await readBody(request, ZLogPointsBody, pointsBodyAsIs);
          refuseOtherRun(actor, runId);
          await run;
          const numeric = body.points.every((point) => typeof point.value === "number");
          const result = await ingestPoints(
            db,
            runId,
            numeric
              ? (body.points as MetricPointInput[])
              : body.points.map((point) => ({ ...point, value: toNumber(point.value) })),
          );
          // `stored` counts every point accepted; new, replaced and unchanged come along when the store tells them.
          return json({ runId, ...result });
        }
        case "summary":
          return json(await updateTrackedRun(db, teamId, runId, await readBody(request, ZSummaryBody)));
        case "heartbeat":
          return json(await heartbeatTrackedRun(db, teamId, runId, await readBody(request, ZHeartbeatBody)));
        case "finish":
          return json(await finishTrackedRun(db, teamId, runId, await readBody(request, ZFinishBody)));
      }
    }
    return noSuchEndpoint();
  } catch (error) {
    if (error instanceof ZodError) {
      // An unknown field or query parameter is named by its key, not by the object holding it.
      const issues = error.issues.map((issue) => ({
        path:
          issue.code === "unrecognized_keys"
            ? issue.keys.map((key) => [...issue.path, key].map(String).join(".")).join(", ")
            : issue.path.map(String).join("."),
        message: issue.message,
      }));
      return problem(
        400,
        `Invalid request: ${issues
          .map((issue) => `${issue.path || "body"}: ${issue.message}`)
          .slice(0, 5)
          .join("; ")}`,
        issues,
      );
    }
    if (error instanceof AppError) return problem(APP_ERROR_CODES[error.code].http, error.message);
    if (databaseUnavailable(error)) {
      return Response.json(
        { error: { message: "The database is unavailable (restarting?); retry in a few seconds" } },
        { status: 503, headers: { "cache-control": "no-store", "retry-after": "2" } },
      );
    }
    // The client gets an id to quote, never the database's own text; the log line carries both.
    const requestId = randomUUID();
    requestLogger(requestId).error(
      { err: error, method: request.method, path: `/api/v1/${path.join("/")}` },
      `api/v1 ${request.method} /api/v1/${path.join("/")} failed`,
    );
    return problem(500, `Internal error (request ${requestId}); the server log has the details`);
  }
}
