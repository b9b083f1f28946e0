import { randomUUID } from "node:crypto";
import type { Db } from "../db.ts";
import type { Actor } from "../domain/access/actor.ts";
import { assertRunInKeyReach } from "../domain/access/resource-access.ts";
import { verifyApiKeyForUse } from "../domain/api-key/verify-api-key.ts";
import { AppError } from "../domain/app-error.ts";
import {
  artifactDownload,
  artifactRoot,
  type ArtifactLimits,
  findArtifact,
  normaliseArtifactPath,
  saveArtifact,
} from "../domain/artifacts/artifact-store.ts";
import { MlflowError, mlflowCodeOf, mlflowErrorResponse } from "../domain/mlflow/mlflow-error.ts";
import { readLoggedModel } from "../domain/mlflow/mlflow-logged-models.ts";
import { findTeamRun } from "../domain/tracking/track-run.ts";
import { requestLogger } from "../log.ts";

/**
 * /api/2.0/mlflow-artifacts/artifacts: the artifact proxy of `mlflow server --serve-artifacts`, which
 * the mlflow client uses for a run whose artifact_uri is mlflow-artifacts:/<experiment>/<run>/artifacts
 * (what runs/create and runs/get answer). PUT <root>/<path> uploads (mlflow.log_artifact), GET
 * <root>/<path> downloads, GET ?path=<root>[/<folder>] lists a folder's direct entries. The files are
 * the run's artifacts, the same ones /api/v1/runs/{id}/artifacts serves. A logged model's
 * artifact_uri, mlflow-artifacts:/<experiment>/models/<model id>/artifacts, is answered the same way;
 * its files lie under the artifact root's <team id>/<model id>/ (the store's folder for "run" <model
 * id>: model ids, "m-<32 hex>", never look like a run's cuid), counted in the team's storage.
 */

type KeyActor = Extract<Actor, { kind: "apiKey" }>;
type Located = { teamId: string; runId: string; artifactPath: string };

/**
 * "<experiment id>/<run id>/artifacts[/<path>]" to the run (in the key's team) and the path inside it,
 * or "<experiment id>/models/<model id>/artifacts[/<path>]" to the logged model's folder.
 */
async function locate(db: Db, actor: KeyActor, location: string, allowRoot: boolean): Promise<Located> {
  const teamId = actor.teamId;
  const missing = () => new MlflowError("RESOURCE_DOES_NOT_EXIST", `No artifact location ${JSON.stringify(location)}`);
  const segments = location.split("/");
  if (segments[1] === "models") {
    const [experimentId, , modelId, artifacts, ...rest] = segments;
    if (!experimentId || !modelId || artifacts !== "artifacts") throw missing();
    const model = await readLoggedModel(db, actor, modelId).catch(() => null);
    if (!model || model.experimentId !== experimentId) throw missing();
    return { teamId, runId: model.id, artifactPath: normaliseArtifactPath(rest, allowRoot) };
  }
  const [experimentId, runId, artifacts, ...rest] = segments;
  if (!experimentId || !runId || artifacts !== "artifacts") throw missing();
  assertRunInKeyReach(actor, runId, `No artifact location ${JSON.stringify(location)}`);
  const run = await findTeamRun(db, teamId, runId).catch(() => null);
  if (!run || run.experimentId !== experimentId) throw missing();
  return { teamId, runId, artifactPath: normaliseArtifactPath(rest, allowRoot) };
}

export async function handleMlflowArtifacts(
  db: Db,
  request: Request,
  segments: readonly string[],
  options: { root?: string; limits?: ArtifactLimits } = {},
): Promise<Response> {
  const method = request.method;
  try {
    if (method !== "GET" && method !== "PUT")
      return mlflowErrorResponse(
        "ENDPOINT_NOT_FOUND",
        `${method} is not supported: GET downloads or lists, PUT uploads`,
      );
    const header = request.headers.get("authorization") ?? "";
    if (!header.toLowerCase().startsWith("bearer "))
      throw new AppError(
        "UNAUTHORIZED",
        "Send an API key: set MLFLOW_TRACKING_TOKEN=<key> (Authorization: Bearer <key>)",
      );
    const actor = await verifyApiKeyForUse(
      db,
      header.slice(7).trim(),
      "ingest",
      method === "GET" ? "viewer" : "editor",
    );
    if (!actor) throw new AppError("UNAUTHORIZED", "Invalid, expired or revoked API key");
    const root = options.root ?? artifactRoot();
    if (method === "GET" && segments.length === 0) {
      const listed = new URL(request.url).searchParams.get("path") ?? "";
      const located = await locate(db, actor, listed.replace(/\/+$/, ""), true);
      const found = await findArtifact({ root, ...located });
      if (found.kind !== "folder") return Response.json({}, { headers: { "cache-control": "no-store" } });
      const prefix = located.artifactPath ? `${located.artifactPath}/` : "";
      return Response.json(
        {
          files: found.entries.map((entry) => ({
            path: entry.path.slice(prefix.length),
            is_dir: entry.isDir,
            ...(entry.isDir ? {} : { file_size: entry.size }),
          })),
        },
        { headers: { "cache-control": "no-store" } },
      );
    }
    const located = await locate(db, actor, segments.join("/"), false);
    if (method === "PUT") {
      const declared = request.headers.get("content-length");
      await saveArtifact({
        root,
        ...located,
        body: request.body,
        ...(declared !== null && /^\d+$/.test(declared) ? { declaredBytes: Number(declared) } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
      });
      return Response.json({}, { headers: { "cache-control": "no-store" } });
    }
    const found = await findArtifact({ root, ...located });
    if (found.kind !== "file")
      throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `Artifact ${located.artifactPath} not found`);
    return artifactDownload(located.artifactPath, found.size, found.open());
  } catch (error) {
    if (error instanceof AppError) return mlflowErrorResponse(mlflowCodeOf(error), error.message);
    const requestId = randomUUID();
    requestLogger(requestId).error({ err: error, method }, `api/2.0/mlflow-artifacts ${method} failed`);
    return mlflowErrorResponse(
      "INTERNAL_ERROR",
      `Internal error (request ${requestId}); the server log has the details`,
    );
  }
}
