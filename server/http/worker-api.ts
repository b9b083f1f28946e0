import { readFile } from "node:fs/promises";
import { z, type ZodType } from "zod";
import type { Db } from "../db.ts";
import { createRunKey, revokeRunKey } from "../domain/api-key/create-run-key.ts";
import { verifyApiKeyForUse } from "../domain/api-key/verify-api-key.ts";
import { AppError } from "../domain/app-error.ts";
import { CheckpointError, saveCheckpoint } from "../domain/checkpoint/save-checkpoint.ts";
import { discardPointsAfter, ingestPointsForAttempt } from "../domain/metrics/ingest-points.ts";
import { appendRunLog } from "../domain/run/append-run-log.ts";
import { claimRunInTransaction, type Claimant, type ClaimedRun } from "../domain/run/claim-run.ts";
import { finishRun } from "../domain/run/finish-run.ts";
import { recordRunHeartbeat } from "../domain/run/record-run-heartbeat.ts";
import { DEFAULT_STALE_SECONDS, requeueRun, requeueStaleRuns } from "../domain/run/requeue-run.ts";
import { crashSilentTrackedRuns } from "../domain/tracking/crash-silent-runs.ts";
import { findTeamRun } from "../domain/tracking/track-run.ts";
import {
  mayHoldUnstorableText,
  pathToUnstorableText,
  unstorableTextMessage,
} from "../domain/validation/unstorable-text.ts";
import {
  isWorkerRegistered,
  markWorkerStopped,
  recordWorkerHeartbeat,
  registerWorker,
  type WorkerScope,
} from "../domain/worker/register-worker.ts";
import { env } from "../env.ts";
import { logger, messageOf } from "../log.ts";
import { isCommandRun, type RunQueue } from "../queue/boss.ts";
import { getQueue } from "../queue/get-queue.ts";
import { MAX_BODY_BYTES, MAX_POINTS, ZApiPoint, ZStep } from "./v1-schemas.ts";

/**
 * /api/v1/worker: what a worker on another host needs, over HTTP with a `worker`-scoped API key
 * instead of DATABASE_URL. The server claims queued runs of the key's team on the worker's behalf
 * and writes through the same domain functions a worker on the database uses; every write for a run
 * names the attempt, which fences off a worker presumed dead.
 */

export const MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024;
const staleSeconds = () => env().SCALEBOARD_STALE_SECONDS ?? DEFAULT_STALE_SECONDS;
const REAP_EVERY_MS = 5_000;

const ZAttempt = z.number().int().min(1);
const ZWorkerName = z.string().trim().min(1).max(200);

export const ZWorkerStatusBody = z.strictObject({
  name: ZWorkerName,
  host: z.string().min(1).max(200),
  pid: z.number().int().min(0),
  slots: z.number().int().min(1).max(1024),
  backend: z.string().max(100).nullish(),
  allowsCommands: z
    .boolean()
    .default(false)
    .describe("whether its operator started it with --allow-commands: it runs `runner: command` cells"),
  state: z
    .enum(["starting", "running", "stopped"])
    .describe("starting registers the worker, running keeps it alive, stopped marks it stopped"),
});
export const ZClaimBody = z.strictObject({
  worker: ZWorkerName,
  allowCommands: z
    .boolean()
    .default(false)
    .describe("true only for a worker started with --allow-commands; command runs are never handed to any other"),
});
export const ZWorkerHeartbeatBody = z.strictObject({
  attempt: ZAttempt,
  // The bound every step shares (points, heartbeats): past it, a 400 naming `step`.
  step: ZStep.optional(),
  progress: z.number().min(0).max(1).optional(),
  wallClockSeconds: z.number().min(0).optional(),
});
export const ZWorkerPointsBody = z.strictObject({
  attempt: ZAttempt,
  points: z.array(ZApiPoint).min(1).max(MAX_POINTS, `at most ${MAX_POINTS} points per request`),
});
export const ZWorkerLogsBody = z.strictObject({
  attempt: ZAttempt,
  lines: z
    .array(z.strictObject({ stream: z.enum(["stdout", "stderr", "system"]), line: z.string().max(10_000) }))
    .min(1)
    .max(5_000),
});
export const ZRunOutcomeBody = z.strictObject({
  attempt: ZAttempt,
  status: z.enum(["succeeded", "failed", "canceled", "diverged"]),
  error: z.string().max(10_000).nullish(),
  summary: z.record(z.string(), z.unknown()).optional(),
  environment: z.record(z.string(), z.unknown()).optional(),
  backend: z.string().max(100).nullish(),
  paramCount: z.number().int().min(0).nullish(),
  flopsPerStep: z.number().min(0).nullish(),
  totalFlops: z.number().min(0).nullish(),
  wallClockSeconds: z.number().min(0).nullish(),
  step: ZStep.nullish(),
});
export const ZReleaseBody = z.strictObject({ attempt: ZAttempt, reason: z.string().min(1).max(1_000) });
export const ZRunKeyBody = z.strictObject({ attempt: ZAttempt });
const ZCheckpointQuery = z.object({ attempt: z.coerce.number().pipe(ZAttempt), step: z.coerce.number().pipe(ZStep) });

/** A claimed run as the worker gets it: the checkpoint's bytes come from their own endpoint. */
export type WireClaimedRun = Omit<ClaimedRun, "checkpoint"> & { checkpoint: { id: string; step: number } | null };

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

async function readBytes(request: Request, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > limit)
    throw new AppError("TOO_LARGE", `The ${what} is ${declared} bytes; the limit is ${limit} bytes`);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > limit) throw new AppError("TOO_LARGE", `The ${what} is over ${limit} bytes`);
  return bytes;
}

async function readJson<T>(request: Request, schema: ZodType<T>): Promise<T> {
  const text = Buffer.from(await readBytes(request, MAX_BODY_BYTES, "body")).toString("utf8");
  let parsed: unknown;
  try {
    parsed = text.trim() ? JSON.parse(text) : {};
  } catch (error) {
    throw new AppError("INVALID_INPUT", `The body is not valid JSON: ${(error as Error).message}`);
  }
  // Text PostgreSQL cannot store (a NUL byte) is bad input, named, not a database error.
  const unstorable = mayHoldUnstorableText(text) ? pathToUnstorableText(parsed) : null;
  if (unstorable !== null) throw new AppError("INVALID_INPUT", unstorableTextMessage(unstorable));
  return schema.parse(parsed);
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

async function authenticateWorker(db: Db, request: Request): Promise<{ teamId: string; keyId: string }> {
  const header = request.headers.get("authorization") ?? "";
  if (!header.toLowerCase().startsWith("bearer "))
    throw new AppError(
      "UNAUTHORIZED",
      "Send a worker API key: Authorization: Bearer <key> (create one with scope worker on the Team page)",
    );
  const actor = await verifyApiKeyForUse(db, header.slice(7).trim(), "worker", "editor");
  if (!actor) throw new AppError("UNAUTHORIZED", "Invalid, expired or revoked API key");
  return { teamId: actor.teamId, keyId: actor.keyId };
}

let lastReap = 0;

/**
 * Workers on the server's API do not see the database, so the server requeues runs whose worker went
 * silent, and ends HTTP-tracked runs whose script did (crashed).
 */
async function reapStaleRuns(db: Db, queue: RunQueue): Promise<void> {
  if (Date.now() - lastReap < REAP_EVERY_MS) return;
  lastReap = Date.now();
  await requeueStaleRuns(db, queue, staleSeconds()).catch((error: unknown) =>
    logger().error({ err: error }, `worker api: requeueing stale runs failed: ${messageOf(error)}`),
  );
  await crashSilentTrackedRuns(db, staleSeconds()).catch((error: unknown) =>
    logger().error({ err: error }, `worker api: marking silent HTTP-tracked runs crashed failed: ${messageOf(error)}`),
  );
}

/**
 * The next queued run of the team for this worker, or null; a job whose run is no longer queued is
 * used up and skipped. Command runs go only to a worker that allows them.
 */
async function claimNextRun(
  db: Db,
  queue: RunQueue,
  teamId: string,
  claimant: Claimant,
): Promise<WireClaimedRun | null> {
  for (let tries = 0; tries < 20; tries++) {
    const outcome = await db.$transaction(async (tx) => {
      const runId = await queue.takeTeamRun(tx, teamId, claimant.allowCommands);
      return runId ? claimRunInTransaction(tx, runId, claimant) : null;
    });
    if (!outcome) return null;
    if (outcome.kind === "skipped") continue;
    const { checkpoint, ...run } = outcome.run;
    await discardPointsAfter(db, run.id, checkpoint?.step ?? null);
    return { ...run, checkpoint: checkpoint ? { id: checkpoint.id, step: checkpoint.step } : null };
  }
  return null;
}

async function readCheckpoint(db: Db, runId: string, checkpointId: string): Promise<Response> {
  const checkpoint = await db.checkpoint.findFirst({
    where: { id: checkpointId, runId },
    select: { data: true, path: true },
  });
  if (!checkpoint)
    throw new AppError(
      "NOT_FOUND",
      `Checkpoint ${checkpointId} of run ${runId} not found (a newer one may have replaced it)`,
    );
  const bytes = checkpoint.data ?? (checkpoint.path ? new Uint8Array(await readFile(checkpoint.path)) : null);
  if (!bytes) throw new AppError("NOT_FOUND", `Checkpoint ${checkpointId} has no data`);
  return new Response(Buffer.from(bytes), {
    headers: { "content-type": "application/octet-stream", "cache-control": "no-store" },
  });
}

/**
 * Handles /api/v1/worker/...; `path` is what follows "worker". Errors are thrown as AppError or
 * ZodError for the caller (handleV1) to turn into 4xx answers.
 */
export async function handleWorkerApi(
  db: Db,
  request: Request,
  path: string[],
  queue: () => Promise<RunQueue> = getQueue,
): Promise<Response | null> {
  const method = request.method;
  const [resource, runId, action, itemId, itemAction, ...rest] = path;
  const { teamId, keyId } = await authenticateWorker(db, request);

  if (resource === "status" && path.length === 1 && method === "POST") {
    const body = await readJson(request, ZWorkerStatusBody);
    // The registry is per team: this key's team and the name; another team's entries are out of reach.
    const scope: WorkerScope = { teamId, name: body.name };
    const known = body.state !== "starting" && (await isWorkerRegistered(db, scope));
    if (!known)
      await registerWorker(
        db,
        {
          name: body.name,
          host: body.host,
          pid: body.pid,
          slots: body.slots,
          backend: body.backend ?? null,
          allowsCommands: body.allowsCommands,
        },
        teamId,
      );
    if (body.state === "running") await recordWorkerHeartbeat(db, scope, body.allowsCommands);
    if (body.state === "stopped") await markWorkerStopped(db, scope);
    return json({ name: body.name, state: body.state });
  }
  if (resource === "claim" && path.length === 1 && method === "POST") {
    const body = await readJson(request, ZClaimBody);
    const runQueue = await queue();
    await reapStaleRuns(db, runQueue);
    await recordWorkerHeartbeat(db, { teamId, name: body.worker }, body.allowCommands);
    return json({
      run: await claimNextRun(db, runQueue, teamId, {
        workerName: body.worker,
        allowCommands: body.allowCommands,
        workerKeyId: keyId,
      }),
    });
  }
  if (resource !== "runs" || !runId || rest.length) return null;
  await findTeamRun(db, teamId, runId);
  // A worker key acts only on runs it claimed: for any other run of its team (HTTP-tracked, a
  // database worker's, another key's) it gets the answers of an attempt that lost the run.
  const held = (await db.run.count({ where: { id: runId, workerKeyId: keyId } })) > 0;

  if (action === "checkpoints" && itemId && !itemAction && method === "GET") {
    if (!held)
      throw new AppError(
        "NOT_FOUND",
        `Checkpoint ${itemId} of run ${runId} not found (the run is not held by this worker key)`,
      );
    return readCheckpoint(db, runId, itemId);
  }
  if (method !== "POST") return null;
  switch (action) {
    case "heartbeat": {
      const { attempt, ...progress } = await readJson(request, ZWorkerHeartbeatBody);
      if (!held) return json({ owned: false, cancelRequested: false });
      return json(await recordRunHeartbeat(db, runId, attempt, progress));
    }
    case "points": {
      const body = await readJson(request, ZWorkerPointsBody);
      if (!held) return json({ owned: false });
      const owned = await ingestPointsForAttempt(
        db,
        runId,
        body.attempt,
        body.points.map((point) => ({ ...point, value: toNumber(point.value) })),
      );
      return json({ owned });
    }
    case "logs": {
      const body = await readJson(request, ZWorkerLogsBody);
      if (!held) return json({ stored: 0 });
      await appendRunLog(db, runId, body.attempt, body.lines);
      return json({ stored: body.lines.length });
    }
    case "checkpoints": {
      if (itemId) return null;
      const query = ZCheckpointQuery.parse(Object.fromEntries(new URL(request.url).searchParams));
      const data = await readBytes(request, MAX_CHECKPOINT_BYTES, "checkpoint");
      if (!held) return json({ saved: false });
      try {
        return json({
          saved: await saveCheckpoint(
            db,
            { id: runId, attempt: query.attempt },
            query.step,
            data,
            env().SCALEBOARD_CHECKPOINT_DIR ?? null,
          ),
        });
      } catch (error) {
        if (error instanceof CheckpointError) throw new AppError("UNAVAILABLE", error.message);
        throw error;
      }
    }
    case "finish": {
      const { attempt, ...outcome } = await readJson(request, ZRunOutcomeBody);
      if (!held) return json({ finished: false });
      return json({ finished: await finishRun(db, runId, attempt, outcome) });
    }
    case "release": {
      const body = await readJson(request, ZReleaseBody);
      if (!held) return json({ released: false });
      return json({
        released: await requeueRun(db, await queue(), runId, {
          attempt: body.attempt,
          reason: body.reason,
          graceful: true,
        }),
      });
    }
    case "run-key": {
      // Only for a command run this key claimed, in the attempt it holds: never an HTTP-tracked run,
      // a database worker's run or another worker key's.
      const holding = held
        ? await db.run.findFirst({
            where: { id: runId, status: "running", workerKeyId: keyId },
            select: { attempt: true, config: true },
          })
        : null;
      if (itemId && itemAction === "revoke")
        return json({ revoked: holding ? await revokeRunKey(db, runId, itemId) : false });
      if (itemId) return null;
      const body = await readJson(request, ZRunKeyBody);
      if (!holding)
        throw new AppError(
          "FORBIDDEN",
          `Run ${runId} is not held by this worker key: a worker mints keys only for command runs it claimed`,
        );
      if (holding.attempt !== body.attempt)
        throw new AppError("CONFLICT", `Attempt ${body.attempt} no longer owns run ${runId}`);
      if (!isCommandRun(holding.config))
        throw new AppError("FORBIDDEN", `Run ${runId} is not a command run: only command runs get a key of their own`);
      const created = await createRunKey(db, runId);
      return json(created ? { key: created.key, keyId: created.keyId } : { key: null, keyId: null });
    }
  }
  return null;
}

/** The worker API's part of the OpenAPI document (server/http/openapi.ts), from the same zod schemas. */
export function workerApiPaths() {
  const schema = (zod: ZodType) => z.toJSONSchema(zod, { io: "input", unrepresentable: "any" });
  const body = (zod: ZodType) => ({ required: true, content: { "application/json": { schema: schema(zod) } } });
  const errors = {
    "400": { description: "Invalid body: `error.issues` names each field" },
    "401": { description: "Missing, invalid, expired or revoked API key" },
    "403": {
      description: "The key's scope is not worker or full, or (run-key) the run is not a command run this key claimed",
    },
    "404": { description: "No such run in the key's team" },
  };
  const runId = { name: "runId", in: "path", required: true, schema: { type: "string" } };
  const worker = "Workers";
  const post = (summary: string, zod: ZodType | null, answer: string, parameters: object[] = [runId]) => ({
    post: {
      tags: [worker],
      summary,
      parameters,
      ...(zod ? { requestBody: body(zod) } : {}),
      responses: { "200": { description: answer }, ...errors },
    },
  });
  return {
    "/worker/status": post(
      "Register a worker (name, host, slots), keep it alive, or mark it stopped",
      ZWorkerStatusBody,
      "{ name, state }",
      [],
    ),
    "/worker/claim": post(
      "Claim the next queued run of the key's team: it becomes running with attempt + 1. Command runs only with allowCommands",
      ZClaimBody,
      "{ run }: the run's id, attempt, config, checkpoint settings and latest checkpoint, or null when none is queued",
      [],
    ),
    "/worker/runs/{runId}/heartbeat": post(
      "Keep an attempt alive and report progress",
      ZWorkerHeartbeatBody,
      "{ owned, cancelRequested }: owned false means another attempt took the run over, or this key never claimed it",
    ),
    "/worker/runs/{runId}/points": post(
      "Store a batch of points for an attempt; idempotent on (run, key, step)",
      ZWorkerPointsBody,
      "{ owned }",
    ),
    "/worker/runs/{runId}/logs": post("Append log lines", ZWorkerLogsBody, "{ stored }"),
    "/worker/runs/{runId}/checkpoints": {
      post: {
        tags: [worker],
        summary: "Store a checkpoint (raw bytes) for an attempt at a step",
        parameters: [
          runId,
          { name: "attempt", in: "query", required: true, schema: { type: "integer" } },
          { name: "step", in: "query", required: true, schema: { type: "integer" } },
        ],
        requestBody: {
          required: true,
          content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
        },
        responses: {
          "200": { description: "{ saved }" },
          ...errors,
          "503": { description: "The server cannot write its checkpoint directory; the message says why" },
        },
      },
    },
    "/worker/runs/{runId}/checkpoints/{checkpointId}": {
      get: {
        tags: [worker],
        summary: "A checkpoint's bytes, to resume from",
        parameters: [runId, { name: "checkpointId", in: "path", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "application/octet-stream" }, ...errors },
      },
    },
    "/worker/runs/{runId}/finish": post(
      "Record how an attempt ended",
      ZRunOutcomeBody,
      "{ finished }: false when the attempt no longer owns the run",
    ),
    "/worker/runs/{runId}/release": post(
      "Give the run back to the queue (the worker is stopping); uses up no attempt",
      ZReleaseBody,
      "{ released }",
    ),
    "/worker/runs/{runId}/run-key": post(
      "A short-lived ingest key for a command run this worker key claimed, bound to that run and revoked when the attempt ends",
      ZRunKeyBody,
      "{ key, keyId }",
    ),
    "/worker/runs/{runId}/run-key/{keyId}/revoke": post(
      "Revoke a command run's key when it ends",
      null,
      "{ revoked }",
      [runId, { name: "keyId", in: "path", required: true, schema: { type: "string" } }],
    ),
  };
}
