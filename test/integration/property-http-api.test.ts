import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startV1Server } from "../helpers/v1-server.ts";

/**
 * Property tests for /api/v1 against a real PostgreSQL: any body, JSON or not, sent to any
 * endpoint gets a 2xx, or a 4xx whose JSON names the problem; never a 5xx.
 */

let database: TestDatabase;
let server: { url: string; close: () => Promise<void> };
let key: string;
const runIds: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startV1Server(database.db);
  const admin = await createUser(database.db);
  const team = await createTeamWith(database.db, { [admin.id]: "admin" });
  key = (await createApiKey(database.db, team.id, admin.id, { name: "ingest", scope: "ingest" })).key;
  for (let index = 0; index < 3; index++) {
    const response = await send(
      "POST",
      "/runs",
      JSON.stringify({ project: "Props", experiment: "bodies", name: `r${index}` }),
    );
    expect(response.status).toBe(201);
    runIds.push(response.body.runId as string);
  }
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
});

/** A JSON reply: what a route answers, or the { error: { message, issues } } of a refused request (issues: a bad body). */
type JsonReply = Record<string, unknown> & { error: { message: string; issues: { path: string }[] } };

async function send(method: string, route: string, body: string | undefined) {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body,
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, text, body: parsed as JsonReply };
}

/** A 2xx with a JSON body, or a 4xx whose JSON carries a message a person can read. */
function expectAnswered(response: Awaited<ReturnType<typeof send>>, what: string): void {
  expect(response.status, `${what} -> ${response.status} ${response.text.slice(0, 300)}`).toBeLessThan(500);
  expect(response.body, `${what}: not JSON: ${response.text.slice(0, 300)}`).toBeDefined();
  if (response.status >= 400) {
    expect(typeof response.body.error?.message, `${what}: ${response.text.slice(0, 300)}`).toBe("string");
    expect((response.body.error.message as string).length).toBeGreaterThan(0);
  } else {
    expect(response.status).toBeGreaterThanOrEqual(200);
  }
}

const FIELD_NAMES = [
  "points",
  "key",
  "step",
  "value",
  "wallTime",
  "project",
  "experiment",
  "name",
  "config",
  "tags",
  "paramCount",
  "flopsPerStep",
  "runId",
  "summary",
  "totalFlops",
  "notes",
  "progress",
  "status",
  "error",
  "wallClockSeconds",
  "__proto__",
  "constructor",
];

/** JSON values biased towards the API's own field names and edge values, so bodies get past the first check. */
const jsonBody: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(
      null,
      true,
      false,
      0,
      -1,
      1.5,
      2_147_483_648,
      Number.MAX_SAFE_INTEGER,
      1e308,
      -1e308,
      5e-324,
      "",
      "NaN",
      "Infinity",
      "-Infinity",
      "succeeded",
      "failed",
      "x".repeat(300),
      "\u0000",
      "a\u0000b",
      "\ud800",
      "é/\n",
    ),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ maxLength: 20 }),
    fc.string({ maxLength: 8, unit: "binary" }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom(...FIELD_NAMES),
        fc.string({ maxLength: 6 }),
        fc.string({ maxLength: 4, unit: "binary" }),
        fc.constantFrom("\u0000", "k\u0000"),
      ),
      tie("value"),
      { maxKeys: 6 },
    ),
  ),
})).value;

/** Text that databases and JSON trip over: NUL, lone surrogates, long and empty strings. */
const hostileText = fc.oneof(
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\ud800",
    "\udfff x",
    "é/\n\t",
    "",
    " ",
    "x".repeat(200),
    "x".repeat(201),
    "NaN",
    "__proto__",
  ),
  fc.string({ maxLength: 8, unit: "binary" }),
);

/** Valid bodies with one or two fields (or a point's field, or a value deep in config/summary) replaced. */
const nearlyValid = fc
  .tuple(
    fc.constantFrom<Record<string, unknown>>(
      {
        points: [
          { key: "train/loss", step: 1, value: 0.5 },
          { key: "val/loss", step: 2, value: "NaN" },
        ],
      },
      { project: "Props", experiment: "bodies", config: { width: 8 }, tags: ["a"] },
      { summary: { "val/loss": 0.1 }, paramCount: 10, notes: "n", tags: ["t"] },
      { step: 3, progress: 0.5 },
      { status: "failed", error: "boom", wallClockSeconds: 3 },
      { runId: "x" },
    ),
    fc.array(fc.tuple(fc.constantFrom(...FIELD_NAMES), fc.oneof(jsonBody, hostileText)), { maxLength: 2 }),
    fc.array(fc.tuple(fc.constantFrom("key", "step", "value", "wallTime", "extra"), fc.oneof(jsonBody, hostileText)), {
      maxLength: 2,
    }),
    fc.option(fc.tuple(hostileText, fc.oneof(hostileText, jsonBody))),
  )
  .map(([base, fields, pointFields, nested]) => {
    const body: Record<string, unknown> = structuredClone(base);
    for (const [name, value] of fields) body[name] = value;
    if (Array.isArray(body.points) && body.points[0] && typeof body.points[0] === "object") {
      for (const [name, value] of pointFields) (body.points[0] as Record<string, unknown>)[name] = value;
    }
    if (nested) {
      const [name, value] = nested;
      for (const field of ["config", "summary"])
        if (body[field] && typeof body[field] === "object") (body[field] as Record<string, unknown>)[name] = value;
      if (Array.isArray(body.tags)) body.tags.push(typeof value === "string" ? value : name);
      if (typeof body.project === "string") body.name = name;
    }
    return body;
  });

/** Not JSON at all, or JSON with Python's bare NaN, or truncated. */
const rawText = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom(
    "{",
    "[",
    "null",
    '"text"',
    '{"points": [{"key": "k", "step": 1, "value": NaN}]}',
    '{"points": NaN}',
    "NaN",
    "-Infinity",
    '{"a": Infinity }',
    "\u0000",
    '{"points":[{"key":"k","step":1,"value":1}]',
  ),
  jsonBody.map((value) => (JSON.stringify(value) ?? "").slice(0, -1)),
);

const endpoint = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom("points", "summary", "heartbeat", "finish")
      .map((action) => ({ method: "POST", route: (runId: string) => `/runs/${runId}/${action}` })),
  },
  { weight: 2, arbitrary: fc.constant({ method: "POST", route: () => "/runs" }) },
  { weight: 1, arbitrary: fc.constant({ method: "GET", route: (runId: string) => `/runs/${runId}` }) },
);

const runIdFor = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: 2 }).map((index) => () => runIds[index]!) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 30 }).map((text) => () => encodeURIComponent(text)) },
);

describe("/api/v1 bodies (properties)", () => {
  it("answers any JSON body at any endpoint with a 2xx or a 4xx with a message", async () => {
    await fc.assert(
      fc.asyncProperty(
        endpoint,
        runIdFor,
        fc.oneof({ weight: 1, arbitrary: jsonBody }, { weight: 2, arbitrary: nearlyValid }),
        async ({ method, route }, runId, body) => {
          const path = route(runId());
          expectAnswered(
            await send(method, path, method === "GET" ? undefined : JSON.stringify(body)),
            `${method} ${path} ${JSON.stringify(body)?.slice(0, 200)}`,
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  it("answers bodies that are not JSON with a 4xx with a message", async () => {
    await fc.assert(
      fc.asyncProperty(
        endpoint.filter(({ method }) => method === "POST"),
        runIdFor,
        rawText,
        async ({ method, route }, runId, text) => {
          const path = route(runId());
          expectAnswered(await send(method, path, text), `${method} ${path} ${JSON.stringify(text).slice(0, 200)}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("names the field when text cannot be stored (NUL, unpaired surrogates)", async () => {
    const nul = await send("POST", `/runs/${runIds[0]}/summary`, JSON.stringify({ summary: { note: "a\u0000b" } }));
    expect(nul.status).toBe(400);
    expect(nul.body.error.message).toContain("summary.note");
    const surrogate = await send(
      "POST",
      "/runs",
      JSON.stringify({ project: "Props", experiment: "bodies", config: { label: "\ud800" } }),
    );
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.error.message).toContain("config.label");
    expect((await send("POST", "/runs", JSON.stringify({ project: "Props 😀", experiment: "bodies" }))).status).toBe(
      201,
    );
  });
});
