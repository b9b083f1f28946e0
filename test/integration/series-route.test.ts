import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installPeerStamp, PEER_HEADER } from "../../server/auth/peer-stamp.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { createTeamWith, createUser } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * GET /api/metrics/series, the plain-JSON twin of metrics.series that the compare page preloads:
 * the same answer and the same rules (signed in, every run readable by the caller, full-scope keys
 * only), and a 400 naming the query field for bad input.
 */

let database: TestDatabase;
let GET: (request: Request) => Promise<Response>;
let runId: string;
let keys: { full: string; ingest: string; otherTeam: string };

beforeAll(async () => {
  database = await createTestDatabase();
  // The route reads the process-wide database and auth mode, as under `next start`.
  process.env.DATABASE_URL = database.url;
  process.env.SCALEBOARD_AUTH = "on";
  process.env.BETTER_AUTH_SECRET ??= "series-route-test-secret-0123456789abcdef";
  ({ GET } = await import("../../app/api/metrics/series/route.ts"));

  const { db } = database;
  const [ada, otto] = await Promise.all([createUser(db, "Ada"), createUser(db, "Otto")]);
  const team = await createTeamWith(db, { [ada.id]: "admin" });
  const otherTeam = await createTeamWith(db, { [otto.id]: "admin" });
  const project = await db.project.create({ data: { teamId: team.id, name: "P", slug: "p" }, select: { id: true } });
  const experiment = await db.experiment.create({ data: { projectId: project.id, name: "e" }, select: { id: true } });
  runId = (
    await db.run.create({
      data: { experimentId: experiment.id, name: "r", cellHash: "h", config: {} },
      select: { id: true },
    })
  ).id;
  await ingestPoints(db, runId, [
    { key: "train/loss", step: 0, value: 2 },
    { key: "train/loss", step: 10, value: Number.NaN },
    { key: "train/loss", step: 20, value: 1 },
    { key: "train/loss", step: 30, value: Number.POSITIVE_INFINITY },
    { key: "train/loss", step: 40, value: Number.NEGATIVE_INFINITY },
    { key: "train/loss", step: 50, value: 0.5 },
  ]);
  keys = {
    full: (await createApiKey(db, team.id, ada.id, { name: "full", scope: "full" })).key,
    ingest: (await createApiKey(db, team.id, ada.id, { name: "ingest", scope: "ingest" })).key,
    otherTeam: (await createApiKey(db, otherTeam.id, otto.id, { name: "other", scope: "full" })).key,
  };
});
afterAll(async () => {
  await database?.drop();
});

async function get(
  query: string,
  key?: string,
): Promise<{ status: number; body: { error?: { message: string } } & Record<string, unknown> }> {
  const headers = key ? { authorization: `Bearer ${key}` } : undefined;
  const response = await GET(new Request(`http://127.0.0.1/api/metrics/series?${query}`, { headers }));
  return { status: response.status, body: (await response.json()) as never };
}

describe("GET /api/metrics/series", () => {
  it("answers a team reader with the run's points, NaN, +Infinity and -Infinity told apart", async () => {
    const { status, body } = await get(`runs=${runId}&key=train/loss&x=step&points=1000`, keys.full);
    expect(status).toBe(200);
    expect(body.series).toEqual([
      expect.objectContaining({
        runId,
        xs: [0, 10, 20, 30, 40, 50],
        ys: [2, "NaN", 1, "Infinity", "-Infinity", 0.5],
        interpolated: [],
        total: 6,
      }),
    ]);
  });

  it("answers a window's neighbours and the EMA state at its start", async () => {
    const { status, body } = await get(`runs=${runId}&key=train/loss&xmin=25&xmax=45&smoothing=0.5`, keys.full);
    expect(status).toBe(200);
    expect(body.series).toEqual([
      expect.objectContaining({
        xs: [30, 40],
        ys: ["Infinity", "-Infinity"],
        total: 2,
        before: { x: 20, y: 1 },
        after: { x: 50, y: 0.5 },
        // Before step 20: step 0's 2 (step 10 is NaN, a gap): 0 * 0.5 + 0.5 * 2.
        ema: { value: 1, count: 1, weight: 0.5 },
      }),
    ]);
    const bad = await get(`runs=${runId}&key=train/loss&smoothing=2`, keys.full);
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/^Invalid request: smoothing: /);
  });

  it("refuses the signed-out, other teams and keys without read access", async () => {
    expect((await get(`runs=${runId}&key=train/loss`)).status).toBe(401);
    const foreign = await get(`runs=${runId}&key=train/loss`, keys.otherTeam);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error?.message).toBe("Run not found");
    expect((await get(`runs=missing&key=train/loss`, keys.full)).status).toBe(404);
    expect((await get(`runs=${runId}&key=train/loss`, keys.ingest)).status).toBe(403);
  });

  it("goes uncompressed (no-transform) to a client on this machine or a private network only", async () => {
    installPeerStamp();
    const secret = (globalThis as { [key: symbol]: string })[Symbol.for("scaleboard.peerStampSecret")];
    const cacheControl = async (peer: string) =>
      (
        await GET(
          new Request(`http://127.0.0.1/api/metrics/series?runs=${runId}&key=train/loss`, {
            headers: { authorization: `Bearer ${keys.full}`, [PEER_HEADER]: `${secret} ${peer}` },
          }),
        )
      ).headers.get("cache-control");
    // Next.js's gzip honours no-transform: on a LAN the plain answer arrives sooner than gzip could make it.
    expect(await cacheControl("127.0.0.1")).toBe("private, no-cache, no-transform");
    expect(await cacheControl("192.168.1.20")).toBe("private, no-cache, no-transform");
    expect(await cacheControl("203.0.113.9")).toBe("private, no-cache");
  });

  it("answers 304 to a reader holding the current answer, and the new points once any change", async () => {
    const query = `runs=${runId}&key=val/loss&x=step&points=1000`;
    await ingestPoints(database.db, runId, [
      { key: "val/loss", step: 0, value: 3 },
      { key: "val/loss", step: 5, value: 2 },
    ]);
    const fetchWith = (tag: string | null, key = keys.full) =>
      GET(
        new Request(`http://127.0.0.1/api/metrics/series?${query}`, {
          headers: { authorization: `Bearer ${key}`, ...(tag ? { "if-none-match": tag } : {}) },
        }),
      );
    const first = await fetchWith(null);
    const tag = first.headers.get("etag")!;
    expect(tag).toMatch(/^"s[\w-]{32}"$/);
    expect(first.headers.get("vary")).toBe("Cookie, Authorization");
    // Unchanged points: 304, no body, the same tag.
    const again = await fetchWith(tag);
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(tag);
    // Another metric or resolution is another answer.
    const other = await GET(
      new Request(`http://127.0.0.1/api/metrics/series?runs=${runId}&key=val/loss&x=step&points=500`, {
        headers: { authorization: `Bearer ${keys.full}`, "if-none-match": tag },
      }),
    );
    expect(other.status).toBe(200);
    // A point appended, then a value replaced in place (the same count): each a new answer, each sent whole.
    const seen = [tag];
    for (const [points, ys] of [
      [[{ key: "val/loss", step: 9, value: 1 }], [3, 2, 1]],
      [[{ key: "val/loss", step: 5, value: 2.5 }], [3, 2.5, 1]],
    ] as const) {
      await ingestPoints(database.db, runId, [...points]);
      const changed = await fetchWith(seen.at(-1)!);
      expect(changed.status).toBe(200);
      expect(((await changed.json()) as { series: { ys: number[] }[] }).series[0]!.ys).toEqual(ys);
      const next = changed.headers.get("etag")!;
      expect(seen).not.toContain(next);
      seen.push(next);
    }
    // Another team's key with the current tag: refused as before, never a 304.
    const foreign = await fetchWith(seen.at(-1)!, keys.otherTeam);
    expect(foreign.status).toBe(404);
  });

  it("names the query field of bad input", async () => {
    const badPoints = await get(`runs=${runId}&key=train/loss&points=lots`, keys.full);
    expect(badPoints.status).toBe(400);
    expect(badPoints.body.error?.message).toMatch(/^Invalid request: points: /);
    const nul = await get(`runs=${runId},a%00b&key=train/loss`, keys.full);
    expect(nul.status).toBe(400);
    expect(nul.body.error?.message).toMatch(/^Invalid request: runs\.1: text may not contain the NUL character/);
    expect((await get(`key=train/loss`, keys.full)).status).toBe(400);
  });
});
