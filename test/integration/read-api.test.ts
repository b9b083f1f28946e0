import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ZodType } from "zod";
import { createRunKey } from "../../server/domain/api-key/create-run-key.ts";
import { ZScalingAnalysis } from "../../server/domain/scaling/scaling-analysis.ts";
import {
  ZExperimentsResponse,
  ZHeartbeatResponse,
  ZLogPointsResponse,
  ZRunPointsResponse,
  ZRunResponse,
  ZRunsResponse,
} from "../../server/http/v1-schemas.ts";
import type { TestDatabase } from "../helpers/database.ts";
import { startV1WithIngestKey } from "../helpers/v1-server.ts";

/** The read half of /api/v1 (issues #15 and #17): experiments, runs, a run, its points. */

let database: TestDatabase;
let server: { url: string; close: () => Promise<void> };
let key: string;

type Reply = { status: number; body: Record<string, unknown> & { error?: { message: string } } };

async function call(method: string, route: string, body?: unknown, token = key): Promise<Reply> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Reply["body"] };
}

async function createRun(experiment: string, name: string, extra: Record<string, unknown> = {}) {
  const created = await call("POST", "/runs", { project: "Read API", experiment, name, ...extra });
  expect(created.status).toBe(201);
  return created.body as { runId: string; experimentId: string; projectId: string };
}

async function logPoints(runId: string, points: { key: string; step: number; value: number | string }[]) {
  for (let start = 0; start < points.length; start += 10_000) {
    const answer = await call("POST", `/runs/${runId}/points`, { points: points.slice(start, start + 10_000) });
    expect(answer.status).toBe(200);
  }
}

let close: () => Promise<void>;

beforeAll(async () => {
  ({ database, server, key, close } = await startV1WithIngestKey());
});
afterAll(() => close());

describe("GET /api/v1/experiments", () => {
  it("finds an experiment's id by project and name, lists the team's experiments a page at a time", async () => {
    const a = await createRun("sweep-a", "a0");
    const b = await createRun("sweep-b", "b0");
    await createRun("sweep-b", "b1");
    const found = await call("GET", "/experiments?project=Read%20API&name=sweep-b");
    expect(found.status).toBe(200);
    expect(found.body.experiments).toEqual([
      expect.objectContaining({ id: b.experimentId, name: "sweep-b", runCount: 2, project: expect.any(Object) }),
    ]);
    // Matched by slug, as POST /runs creates projects.
    const bySlug = await call("GET", "/experiments?project=read-api&name=sweep-a");
    expect((bySlug.body.experiments as { id: string }[]).map((row) => row.id)).toEqual([a.experimentId]);
    expect((await call("GET", "/experiments?project=Read%20API&name=missing")).body.experiments).toEqual([]);

    const first = await call("GET", "/experiments?limit=1");
    expect(first.body.experiments).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call("GET", `/experiments?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.experiments).toHaveLength(1);
    const ids = [...(first.body.experiments as { id: string }[]), ...(second.body.experiments as { id: string }[])];
    expect(new Set(ids.map((row) => row.id))).toEqual(new Set([a.experimentId, b.experimentId]));
    expect(second.body.nextCursor).toBeNull();
  });

  it("answers a bad parameter with a 400 naming it", async () => {
    for (const [query, named] of [
      ["limit=0", "limit"],
      ["limit=501", "limit"],
      ["limit=ten", "limit"],
      ["cursor=not-a-cursor", "cursor"],
      ["colour=blue", "colour"],
      ["name=a&name=b", "name"],
      [`name=${"x".repeat(201)}`, "name"],
    ] as const) {
      const answer = await call("GET", `/experiments?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error?.message, query).toContain(named);
    }
  });
});

describe("GET /api/v1/runs and /runs/{id}", () => {
  it("lists runs of an experiment newest first in cursor pages, and reads one with config, summary and metric keys", async () => {
    const names = ["r0", "r1", "r2", "r3", "r4"];
    const ids: string[] = [];
    for (const name of names)
      ids.push((await createRun("listing", name, { config: { width: 8 }, paramCount: 1234 })).runId);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Reply = await call(
        "GET",
        `/runs?project=Read%20API&experiment=listing&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(page.status).toBe(200);
      expect((page.body.runs as unknown[]).length).toBeLessThanOrEqual(2);
      seen.push(...(page.body.runs as { id: string }[]).map((run) => run.id));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect((await call("GET", "/runs?limit=1001")).status).toBe(400);

    const runId = ids[0]!;
    await call("POST", `/runs/${runId}/summary`, { summary: { tokens: 5e9 }, totalFlops: 3.7e16 });
    await logPoints(runId, [
      { key: "val/loss", step: 0, value: 2 },
      { key: "train/loss", step: 0, value: 3 },
    ]);
    const run = await call("GET", `/runs/${runId}`);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      id: runId,
      name: "r0",
      status: "running",
      paramCount: 1234,
      totalFlops: 3.7e16,
      config: { params: { width: 8 } },
      summary: { tokens: 5e9 },
      metricKeys: [
        { key: "train/loss", points: 1 },
        { key: "val/loss", points: 1 },
      ],
      metricKeyCount: 2,
      experiment: { name: "listing" },
      cancelRequestedAt: null,
    });
  });
});

describe("GET /api/v1/runs/{id}/points", () => {
  it("returns the points as logged, NaN and the infinities as strings", async () => {
    const { runId } = await createRun("points", "values");
    await logPoints(runId, [
      { key: "loss", step: 0, value: 1.5 },
      { key: "loss", step: 1, value: "NaN" },
      { key: "loss", step: 2, value: "Infinity" },
      { key: "loss", step: 3, value: "-Infinity" },
      { key: "loss", step: 4, value: 0.25 },
    ]);
    const answer = await call("GET", `/runs/${runId}/points?key=loss`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ total: 5, downsampled: false, nextFromStep: null });
    expect(answer.body.points).toEqual([
      { step: 0, value: 1.5 },
      { step: 1, value: "NaN" },
      { step: 2, value: "Infinity" },
      { step: 3, value: "-Infinity" },
      { step: 4, value: 0.25 },
    ]);
    const window = await call("GET", `/runs/${runId}/points?key=loss&fromStep=1&toStep=2`);
    expect(window.body.points).toEqual([
      { step: 1, value: "NaN" },
      { step: 2, value: "Infinity" },
    ]);
    expect((await call("GET", `/runs/${runId}/points?key=nothing`)).body.points).toEqual([]);
  });

  it("pages 12,000 points as logged without maxPoints, and keeps a spike with maxPoints", async () => {
    const { runId } = await createRun("points", "long");
    const points = Array.from({ length: 12_000 }, (_, step) => ({
      key: "loss",
      step: step * 3,
      value: step === 7_777 ? 100 : 1 / (step + 1),
    }));
    await logPoints(runId, points);
    const read: { step: number; value: number }[] = [];
    let from: number | null = 0;
    let pages = 0;
    while (from !== null) {
      const page: Reply = await call("GET", `/runs/${runId}/points?key=loss&fromStep=${from}`);
      expect(page.status).toBe(200);
      expect(page.body.downsampled).toBe(false);
      const listed = page.body.points as { step: number; value: number }[];
      expect(listed.length).toBeLessThanOrEqual(5000);
      read.push(...listed);
      from = page.body.nextFromStep as number | null;
      pages += 1;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(read).toEqual(points.map(({ step, value }) => ({ step, value })));

    const small = await call("GET", `/runs/${runId}/points?key=loss&maxPoints=100`);
    expect(small.body).toMatchObject({ downsampled: true, total: 12_000, nextFromStep: null });
    const kept = small.body.points as { step: number; value: number }[];
    expect(kept.length).toBeLessThanOrEqual(100);
    expect(kept).toContainEqual({ step: 7_777 * 3, value: 100 });
    expect(kept).toContainEqual({ step: 11_999 * 3, value: 1 / 12_000 });
  });

  it("answers bad parameters with a 400 naming them", async () => {
    const { runId } = await createRun("points", "bad");
    for (const [query, named] of [
      ["", "key"],
      ["key=loss&maxPoints=3", "maxPoints"],
      ["key=loss&maxPoints=5001", "maxPoints"],
      ["key=loss&fromStep=-1", "fromStep"],
      ["key=loss&toStep=2147483648", "toStep"],
      ["key=loss&fromStep=5&toStep=4", "fromStep"],
      ["key=loss&step=4", "step"],
    ] as const) {
      const answer = await call("GET", `/runs/${runId}/points?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error?.message, query).toContain(named);
    }
  });
});

describe("the heartbeat and point steps share one bound", () => {
  it("answers a heartbeat at step 2^31 with a 400 naming step, as for a point", async () => {
    const { runId } = await createRun("bounds", "step");
    const heartbeat = await call("POST", `/runs/${runId}/heartbeat`, { step: 2_147_483_648 });
    expect(heartbeat.status).toBe(400);
    expect(heartbeat.body.error?.message).toMatch(/^Invalid request: step: /);
    const point = await call("POST", `/runs/${runId}/points`, {
      points: [{ key: "loss", step: 2_147_483_648, value: 1 }],
    });
    expect(point.status).toBe(400);
    expect(point.body.error?.message).toContain("points.0.step");
    expect((await call("POST", `/runs/${runId}/heartbeat`, { step: 2_147_483_647 })).status).toBe(200);
  });
});

describe("who may read", () => {
  it("a command run's own key reads its run only; everything else is missing to it", async () => {
    const own = await createRun("bound", "own");
    const other = await createRun("bound", "other");
    const runKey = (await createRunKey(database.db, own.runId))!.key;
    expect((await call("GET", `/runs/${own.runId}`, undefined, runKey)).status).toBe(200);
    expect((await call("GET", `/runs/${own.runId}/points?key=loss`, undefined, runKey)).status).toBe(200);
    const hidden = await call("GET", `/runs/${other.runId}`, undefined, runKey);
    const missing = await call("GET", "/runs/no-such-run", undefined, runKey);
    expect(hidden).toEqual(missing);
    expect(hidden.status).toBe(404);
    expect((await call("GET", `/runs/${other.runId}/points?key=loss`, undefined, runKey)).status).toBe(404);
    expect((await call("GET", "/experiments", undefined, runKey)).status).toBe(404);
    const listed = await call("GET", "/runs", undefined, runKey);
    expect((listed.body.runs as { id: string }[]).map((run) => run.id)).toEqual([own.runId]);
  });
});

describe("the OpenAPI document", () => {
  it("describes every endpoint's answer with a schema, and the answers match them", async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    const document = (await response.json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>;
    };
    for (const [route, operations] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(operations))
        for (const [status, answer] of Object.entries(operation.responses))
          expect(answer.content, `${method.toUpperCase()} ${route} ${status}`).toBeDefined();
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/experiments", "/runs/{runId}/points"]));

    const { runId, experimentId } = await createRun("schemas", "checked");
    const logged = await call("POST", `/runs/${runId}/points`, { points: [{ key: "loss", step: 1, value: "NaN" }] });
    const replies: [ZodType, Reply][] = [
      [ZScalingAnalysis, await call("GET", `/experiments/${experimentId}/scaling?budgetFlops=1e18`)],
      [ZLogPointsResponse, logged],
      [ZHeartbeatResponse, await call("POST", `/runs/${runId}/heartbeat`, { step: 1 })],
      [ZRunResponse, await call("GET", `/runs/${runId}`)],
      [ZRunsResponse, await call("GET", "/runs?limit=3")],
      [ZExperimentsResponse, await call("GET", "/experiments")],
      [ZRunPointsResponse, await call("GET", `/runs/${runId}/points?key=loss`)],
    ];
    for (const [schema, reply] of replies) {
      expect(reply.status).toBe(200);
      expect(schema.safeParse(reply.body).error).toBeUndefined();
    }
  });
});
