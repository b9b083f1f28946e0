import { z, type ZodType } from "zod";
import { ZAttachRunBody, ZCreateRunBody, ZFinishBody, ZHeartbeatBody, ZLogPointsBody, ZSummaryBody } from "./v1-schemas.ts";
import { workerApiPaths } from "./worker-api.ts";

const schema = (zod: ZodType) => z.toJSONSchema(zod, { io: "input", unrepresentable: "any" });
const body = (zod: ZodType) => ({ required: true, content: { "application/json": { schema: schema(zod) } } });
const errors = {
  "400": { description: "Invalid body: `error.issues` names each field" },
  "401": { description: "Missing, invalid, expired or revoked API key" },
  "403": { description: "The key's scope does not allow this" },
  "404": { description: "No such run in the key's team" },
  "413": { description: "Body over 1 MB or more than 10,000 points" },
};
const runIdParameter = [{ name: "runId", in: "path", required: true, schema: { type: "string" } }];

/** The OpenAPI 3.1 description of /api/v1, generated from the same zod schemas that validate requests. */
export function openApiDocument() {
  return {
    openapi: "3.1.0",
    info: { title: "Scaleboard logging API", version: "1", description: "Track runs trained anywhere. Authenticate with `Authorization: Bearer <API key>` (scope ingest or full)." },
    servers: [{ url: "/api/v1" }],
    components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } },
    security: [{ apiKey: [] }],
    paths: {
      "/runs": {
        post: {
          summary: "Create a run in an experiment (created if missing), or attach to a queued/running run by id",
          requestBody: { required: true, content: { "application/json": { schema: { oneOf: [schema(ZCreateRunBody), schema(ZAttachRunBody)] } } } },
          responses: { "201": { description: "Created: { runId, name, experimentId, projectId }" }, "200": { description: "Attached" }, ...errors },
        },
      },
      "/runs/{runId}": { get: { summary: "A run's status", parameters: runIdParameter, responses: { "200": { description: "The run" }, ...errors } } },
      "/runs/{runId}/points": {
        post: { summary: "Log a batch of points; idempotent on (run, key, step)", parameters: runIdParameter, requestBody: body(ZLogPointsBody), responses: { "200": { description: "{ stored }" }, ...errors } },
      },
      "/runs/{runId}/summary": {
        post: { summary: "Set summary values, parameter count, FLOPs, tags, notes", parameters: runIdParameter, requestBody: body(ZSummaryBody), responses: { "200": { description: "Updated" }, ...errors } },
      },
      "/runs/{runId}/heartbeat": {
        post: { summary: "Keep the run alive; answers whether a cancel was requested", parameters: runIdParameter, requestBody: body(ZHeartbeatBody), responses: { "200": { description: "{ cancelRequested }" }, ...errors } },
      },
      "/runs/{runId}/finish": {
        post: { summary: "End the run with a status", parameters: runIdParameter, requestBody: body(ZFinishBody), responses: { "200": { description: "Finished" }, ...errors } },
      },
      ...workerApiPaths(),
    },
  };
}
