import type { Db } from "../../db.ts";
import type { Actor } from "../access/actor.ts";
import { resolveRunAccess } from "../access/resource-access.ts";
import { APP_ERROR_CODES, AppError } from "../app-error.ts";
import {
  artifactDownload,
  artifactRoot,
  type ArtifactLimits,
  findArtifact,
  normaliseArtifactPath,
  saveArtifact,
} from "./artifact-store.ts";

/**
 * /api/v1/runs/{id}/artifacts[/{path}]: PUT uploads the request body as the file at path (201),
 * GET downloads a file as an attachment or lists a folder (the run's whole folder without a path).
 * An API key (scope ingest or full) or a signed-in member: viewers read, editors write; another
 * team's run answers 404 exactly like a missing one.
 */
export type RequestActor = { actor: Actor | null; crossSite: boolean; authError: string | null };

function problem(status: number, message: string, extra: Record<string, unknown> = {}): Response {
  return Response.json({ error: { message, ...extra } }, { status, headers: { "cache-control": "no-store" } });
}

export async function handleRunArtifacts(
  db: Db,
  request: Request,
  runId: string,
  segments: readonly string[],
  auth: RequestActor,
  options: { root?: string; limits?: ArtifactLimits } = {},
): Promise<Response> {
  const method = request.method;
  try {
    if (method !== "GET" && method !== "HEAD" && method !== "PUT")
      return problem(405, `${method} is not supported here: GET downloads or lists, PUT uploads`);
    if (!auth.actor) return problem(401, auth.authError ?? "Send an API key (Authorization: Bearer <key>) or sign in");
    if (method === "PUT" && auth.crossSite) return problem(403, "Cross-site upload refused");
    const artifactPath = normaliseArtifactPath(segments, method !== "PUT");
    const access = await resolveRunAccess(db, auth.actor, runId, method === "PUT" ? "editor" : "viewer", ["ingest"]);
    const root = options.root ?? artifactRoot();
    if (method === "PUT") {
      const declared = request.headers.get("content-length");
      const stored = await saveArtifact({
        root,
        teamId: access.teamId,
        runId,
        artifactPath,
        body: request.body,
        ...(declared !== null && /^\d+$/.test(declared) ? { declaredBytes: Number(declared) } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
      });
      return Response.json({ runId, ...stored }, { status: 201, headers: { "cache-control": "no-store" } });
    }
    const found = await findArtifact({ root, teamId: access.teamId, runId, artifactPath, recursive: true });
    if (found.kind === "missing") return problem(404, `Artifact ${artifactPath} not found`);
    if (found.kind === "folder")
      return Response.json(
        { runId, path: artifactPath, artifacts: found.entries, truncated: found.truncated },
        { headers: { "cache-control": "private, no-store" } },
      );
    return artifactDownload(artifactPath, found.size, found.open());
  } catch (error) {
    if (error instanceof AppError) {
      const status = APP_ERROR_CODES[error.code].http;
      return problem(status, error.message, status === 413 ? { code: "PAYLOAD_TOO_LARGE" } : {});
    }
    throw error;
  }
}
