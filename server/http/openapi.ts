import { z, type ZodType } from "zod";
import {
  ZAttachRunBody,
  ZAttachRunResponse,
  ZCreateRunBody,
  ZCreateRunResponse,
  ZErrorResponse,
  ZExperimentsQuery,
  ZExperimentsResponse,
  ZFinishBody,
  ZFinishResponse,
  ZHeartbeatBody,
  ZHeartbeatResponse,
  ZLogPointsBody,
  ZLogPointsResponse,
  ZPointsQuery,
  ZRunIdResponse,
  ZRunPointsResponse,
  ZRunResponse,
  ZRunsQuery,
  ZRunsResponse,
  ZScalingQuery,
  ZSummaryBody,
} from "./v1-schemas.ts";
import { ZScalingAnalysis } from "../domain/scaling/scaling-analysis.ts";
import { workerApiPaths } from "./worker-api.ts";

const schema = (zod: ZodType, io: "input" | "output" = "input") => z.toJSONSchema(zod, { io, unrepresentable: "any" });
const body = (zod: ZodType) => ({ required: true, content: { "application/json": { schema: schema(zod) } } });
/** A JSON answer described by the zod schema the handler's reply satisfies. */
const answer = (description: string, zod: ZodType) => ({
  description,
  content: { "application/json": { schema: schema(zod, "output") } },
});
const failure = (description: string) => answer(description, ZErrorResponse);

const errors = {
  "400": failure("Invalid body or query parameter: `error.message` and `error.issues` name each"),
  "401": failure("Missing, invalid, expired or revoked API key"),
  "403": failure(
    "The key's scope or its creator's role does not allow this (a command run's own key cannot create runs)",
  ),
  "404": failure(
    "No such run or experiment in the key's team (another team's answers the same); for a command run's own key, anything but its run",
  ),
  "413": failure("Body over 1 MB or more than 10,000 points"),
  "500": failure("Internal error: the message carries a request id, which the server log line carries too"),
  "503": failure("The database is unavailable; retry after the Retry-After seconds"),
};
const readErrors = {
  "400": errors["400"],
  "401": errors["401"],
  "403": errors["403"],
  "404": errors["404"],
  "500": errors["500"],
  "503": errors["503"],
};
const runIdParameter = { name: "runId", in: "path", required: true, schema: { type: "string" } };

/** Query parameters from a read endpoint's zod schema: names, descriptions and whether required. */
function queryParameters(zod: z.ZodObject, types: Record<string, "integer" | "number" | "string">) {
  return Object.entries(zod.shape).map(([name, field]) => ({
    name,
    in: "query",
    required: !(field as ZodType).safeParse(undefined).success,
    description: (field as ZodType).description,
    schema: { type: types[name] ?? "string" },
  }));
}

/** The worker API's answers (server/http/worker-api.ts), by path. */
const workerAnswers: Record<string, ZodType> = {
  "/worker/status": z.object({ name: z.string(), state: z.string() }),
  "/worker/claim": z.object({
    run: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe("The claimed run (id, attempt, config, checkpoint settings), or null when none is queued"),
  }),
  "/worker/runs/{runId}/heartbeat": z.object({ owned: z.boolean(), cancelRequested: z.boolean() }),
  "/worker/runs/{runId}/points": z.object({ owned: z.boolean() }),
  "/worker/runs/{runId}/logs": z.object({ stored: z.number().int() }),
  "/worker/runs/{runId}/checkpoints": z.object({ saved: z.unknown() }),
  "/worker/runs/{runId}/finish": z.object({ finished: z.boolean() }),
  "/worker/runs/{runId}/release": z.object({ released: z.boolean() }),
  "/worker/runs/{runId}/run-key": z.object({ key: z.string(), keyId: z.string() }),
  "/worker/runs/{runId}/run-key/{keyId}/revoke": z.object({ revoked: z.boolean() }),
};

type Operation = { responses: Record<string, { description: string; content?: unknown }> };

/** worker-api.ts's paths with their JSON answers' and errors' schemas filled in. */
function workerPathsWithSchemas() {
  const paths = workerApiPaths() as Record<string, Record<string, Operation>>;
  for (const [route, operations] of Object.entries(paths)) {
    for (const operation of Object.values(operations)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (response.content) continue;
        if (status === "200" && workerAnswers[route])
          response.content = answer(response.description, workerAnswers[route]).content;
        else if (status === "200")
          response.content = { "application/octet-stream": { schema: { type: "string", format: "binary" } } };
        else response.content = failure(response.description).content;
      }
    }
  }
  return paths;
}

/** The OpenAPI 3.1 description of /api/v1, generated from the same zod schemas that validate requests and replies. */
export function openApiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "Scaleboard API",
      version: "1",
      description:
        'Track runs trained anywhere and read results back. Authenticate with `Authorization: Bearer <API key>` (scope ingest or full; reading needs the viewer role, writing editor). A command run gets a key of its own in SCALEBOARD_API_KEY: it reads and writes only that run (SCALEBOARD_RUN_ID) and is revoked when the run ends. NaN and the infinities travel as the strings "NaN", "Infinity", "-Infinity".',
    },
    servers: [{ url: "/api/v1" }],
    components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } },
    security: [{ apiKey: [] }],
    paths: {
      "/experiments": {
        get: {
          summary:
            "Find an experiment's id by project and name, or list the team's experiments, newest first, a page at a time",
          parameters: queryParameters(ZExperimentsQuery, { limit: "integer" }),
          responses: { "200": answer("A page of experiments", ZExperimentsResponse), ...readErrors },
        },
      },
      "/experiments/{experimentId}/scaling": {
        get: {
          summary:
            "The experiment's scaling analysis: power law, joint L(N, D) fit, compute-optimal allocation, IsoFLOP profiles, envelope, frontier, and advice for a budget",
          parameters: [
            { name: "experimentId", in: "path", required: true, schema: { type: "string" } },
            ...queryParameters(ZScalingQuery, { budgetFlops: "number", budgetSeconds: "number" }),
          ],
          responses: {
            "200": answer("The analysis", ZScalingAnalysis),
            ...readErrors,
            "429": failure("Too many analyses are being computed at once (the fit takes seconds); retry later"),
          },
        },
      },
      "/runs": {
        get: {
          summary: "List the team's runs (of a project and experiment when named), newest first, a page at a time",
          parameters: queryParameters(ZRunsQuery, { limit: "integer" }),
          responses: { "200": answer("A page of runs", ZRunsResponse), ...readErrors },
        },
        post: {
          summary: "Create a run in an experiment (created if missing), or attach to a queued/running run by id",
          requestBody: {
            required: true,
            content: { "application/json": { schema: { oneOf: [schema(ZCreateRunBody), schema(ZAttachRunBody)] } } },
          },
          responses: {
            "201": answer("Created", ZCreateRunResponse),
            "200": answer("Attached", ZAttachRunResponse),
            ...errors,
          },
        },
      },
      "/runs/{runId}": {
        get: {
          summary: "A run: status, config, summary, sizes (N, D, FLOPs), clean time and the metric keys it logged",
          parameters: [runIdParameter],
          responses: { "200": answer("The run", ZRunResponse), ...readErrors },
        },
      },
      "/runs/{runId}/points": {
        get: {
          summary:
            "A run's points of one key: as logged (5,000 a page, nextFromStep continues), or min/max-preserving when maxPoints is smaller",
          parameters: [
            runIdParameter,
            ...queryParameters(ZPointsQuery, {
              fromStep: "integer",
              toStep: "integer",
              maxPoints: "integer",
            }),
          ],
          responses: { "200": answer("The points", ZRunPointsResponse), ...readErrors },
        },
        post: {
          summary: "Log a batch of points; idempotent on (run, key, step)",
          parameters: [runIdParameter],
          requestBody: body(ZLogPointsBody),
          responses: { "200": answer("Stored", ZLogPointsResponse), ...errors },
        },
      },
      "/runs/{runId}/summary": {
        post: {
          summary: "Set summary values, parameter count, FLOPs, tags, notes",
          parameters: [runIdParameter],
          requestBody: body(ZSummaryBody),
          responses: { "200": answer("Updated", ZRunIdResponse), ...errors },
        },
      },
      "/runs/{runId}/heartbeat": {
        post: {
          summary: "Keep the run alive; answers whether a cancel was requested",
          parameters: [runIdParameter],
          requestBody: body(ZHeartbeatBody),
          responses: { "200": answer("Alive", ZHeartbeatResponse), ...errors },
        },
      },
      "/runs/{runId}/finish": {
        post: {
          summary: "End the run with a status",
          parameters: [runIdParameter],
          requestBody: body(ZFinishBody),
          responses: { "200": answer("Finished", ZFinishResponse), ...errors },
        },
      },
      ...workerPathsWithSchemas(),
    },
  };
}
