import { randomBytes } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveRouter } from "../../server/api/routers/live.ts";
import { runsTableRouter } from "../../server/api/routers/runs-table.ts";
import { createCallerFactory, createTRPCContext, router } from "../../server/api/trpc.ts";
import type { Actor } from "../../server/domain/access/actor.ts";
import { attachRunEventHub, type RunEventHub } from "../../server/domain/live/run-event-hub.ts";
import type { LiveRunEvent } from "../../server/domain/live/stream-run-events.ts";
import { cancelRuns } from "../../server/domain/run/cancel-runs.ts";
import { ingestPoints } from "../../server/domain/metrics/ingest-points.ts";
import { publishRunEvent } from "../../server/domain/run/run-events.ts";
import {
  RUNS_TABLE_COLUMNS,
  type RunsTableColumn,
  type RunsTableInput,
  type RunsTableRow,
} from "../../server/domain/run/runs-table.ts";
import { applySpec } from "../../server/domain/spec/apply-spec.ts";
import { expandSweep } from "../../server/domain/spec/expand-sweep.ts";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";
import { createTrackedRun } from "../../server/domain/tracking/track-run.ts";
import type { RunStatus } from "../../server/generated/prisma/enums.ts";
import { startProducerQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

const createCaller = createCallerFactory(router({ runsTable: runsTableRouter, live: liveRouter }));

let database: TestDatabase;
let fixture: Awaited<ReturnType<typeof buildFixture>>;
let hub: RunEventHub;

const STATUSES: RunStatus[] = ["queued", "running", "succeeded", "failed", "canceled", "diverged"];
const RUNS = 60;

async function buildFixture() {
  const { db } = database;
  const [viewer, editor, outsider] = await Promise.all([
    createUser(db, "Vera"),
    createUser(db, "Eddie"),
    createUser(db, "Otto"),
  ]);
  const team = await createTeamWith(db, { [viewer.id]: "viewer", [editor.id]: "editor" });
  const otherTeam = await createTeamWith(db, { [outsider.id]: "admin" });
  const project = await db.project.create({
    data: { teamId: team.id, name: "P", slug: `p-${randomBytes(3).toString("hex")}` },
    select: { id: true },
  });
  const foreignProject = await db.project.create({
    data: { teamId: otherTeam.id, name: "F", slug: `f-${randomBytes(3).toString("hex")}` },
    select: { id: true },
  });
  const experiment = await db.experiment.create({
    data: { projectId: project.id, name: "widths" },
    select: { id: true },
  });
  const mixed = await db.experiment.create({ data: { projectId: project.id, name: "mixed" }, select: { id: true } });
  const foreign = await db.experiment.create({
    data: { projectId: foreignProject.id, name: "theirs" },
    select: { id: true },
  });

  const base = Date.UTC(2026, 10, 1);
  const widths = [8, 16, 128, 1024];
  for (let index = 0; index < RUNS; index++) {
    const width = widths[index % widths.length]!;
    await db.run.create({
      data: {
        experimentId: experiment.id,
        name: `run-${String(index).padStart(3, "0")}`,
        cellHash: `cell-${index}`,
        config: {
          params: {
            "model.width": width,
            "training.lr": 0.001 * (1 + (index % 3)),
            optimizer: index % 2 ? "adam" : "sgd",
          },
          model: { width },
        },
        status: STATUSES[index % STATUSES.length]!,
        paramCount: index % 7 === 0 ? null : BigInt(width * width * 3),
        totalFlops: index % 5 === 0 ? null : (index % 11) * 1e12,
        wallClockSeconds: index % 4 === 0 ? null : (index * 37) % 50,
        tags: index % 10 === 0 ? ["baseline", "50%_off"] : [],
        notes: index === 7 ? "Loss spiked at step 900" : null,
        // Several runs share a creation time: the id breaks the tie.
        createdAt: new Date(base + Math.floor(index / 3) * 1000),
        ...(index % 9 === 0
          ? {}
          : {
              series: {
                create: {
                  key: "val/loss",
                  pointCount: 10,
                  firstStep: 0,
                  lastStep: 9,
                  lastValue: index === 13 ? Number.NaN : 1 + ((index * 7) % 13) / 10,
                  minValue: 0.5 + (index % 5) / 10,
                  maxValue: 3,
                },
              },
            }),
      },
    });
  }
  for (const [index, width] of ["wide", 8, "narrow"].entries()) {
    await db.run.create({
      data: {
        experimentId: mixed.id,
        name: `mixed-${index}`,
        cellHash: `m-${index}`,
        config: { params: { "model.width": width, seed: index } },
      },
    });
  }
  await db.run.create({
    data: { experimentId: foreign.id, name: "theirs", cellHash: "t", config: { params: { secret: 1 } } },
  });
  return {
    experiment: experiment.id,
    mixed: mixed.id,
    foreign: foreign.id,
    actors: {
      viewer: userActor(viewer.id),
      editor: userActor(editor.id),
      outsider: userActor(outsider.id),
    } satisfies Record<string, Actor>,
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  hub = attachRunEventHub(database.db, database.url);
  fixture = await buildFixture();
});
afterAll(async () => {
  await hub?.close();
  await database?.drop();
});

function caller(actor: Actor | null) {
  return createCaller(createTRPCContext({ db: database.db, actor }));
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "OK";
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

async function allPages(input: RunsTableInput, actor: Actor = fixture.actors.viewer): Promise<RunsTableRow[]> {
  const rows: RunsTableRow[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const result: Awaited<ReturnType<ReturnType<typeof caller>["runsTable"]["list"]>> = await caller(
      actor,
    ).runsTable.list({ ...input, cursor });
    rows.push(...result.rows);
    cursor = result.nextCursor;
    if (!cursor) return rows;
  }
  throw new Error("pagination did not end");
}

type Sortable = string | number | Date | null;

function sortValue(row: RunsTableRow, column: RunsTableColumn, param?: string): Sortable {
  switch (column) {
    case "status":
      return STATUSES.indexOf(row.status);
    case "param": {
      const value = row.params[param!];
      return value === undefined || value === null || typeof value === "boolean" ? null : value;
    }
    default:
      return row[column];
  }
}

/** PostgreSQL's order: NULLS LAST either way, NaN above every number, ties by id in the same direction. */
function reference(rows: RunsTableRow[], column: RunsTableColumn, direction: "asc" | "desc", param?: string): string[] {
  const sign = direction === "asc" ? 1 : -1;
  const rank = (value: Sortable): number | string =>
    value instanceof Date
      ? value.getTime()
      : typeof value === "number" && Number.isNaN(value)
        ? Number.POSITIVE_INFINITY
        : value!;
  return [...rows]
    .sort((a, b) => {
      const left = sortValue(a, column, param);
      const right = sortValue(b, column, param);
      if (left === null || right === null) {
        if (left !== right) return left === null ? 1 : -1;
      } else if (rank(left) !== rank(right)) {
        return (rank(left) < rank(right) ? -1 : 1) * sign;
      }
      return (a.id < b.id ? -1 : 1) * sign;
    })
    .map((row) => row.id);
}

describe("runsTable.list", () => {
  it("pages through every run in the default order (newest first), without repeats", async () => {
    const rows = await allPages({ experimentIds: [fixture.experiment], limit: 7 });
    expect(rows).toHaveLength(RUNS);
    expect(new Set(rows.map((row) => row.id)).size).toBe(RUNS);
    expect(rows.map((row) => row.id)).toEqual(reference(rows, "createdAt", "desc"));
    const first = rows.find((row) => row.name === "run-007")!;
    expect(first).toMatchObject({
      params: { "model.width": 1024, optimizer: "adam" },
      paramCount: null,
      notes: "Loss spiked at step 900",
      experimentId: fixture.experiment,
    });
    expect(typeof first.finalMetric).toBe("number");
    expect(first.bestMetric).toBe(0.5 + (7 % 5) / 10);
    expect(rows.find((row) => row.name === "run-005")).toMatchObject({
      paramCount: 16 * 16 * 3,
      totalFlops: null,
      wallClockSeconds: (5 * 37) % 50,
      tags: [],
    });
  });

  for (const column of RUNS_TABLE_COLUMNS) {
    for (const direction of ["asc", "desc"] as const) {
      it(`sorts by ${column} ${direction} across pages exactly as PostgreSQL orders it`, async () => {
        const param = column === "param" ? "model.width" : undefined;
        const rows = await allPages({
          experimentIds: [fixture.experiment],
          sort: { column, direction, param },
          limit: 6,
        });
        expect(rows).toHaveLength(RUNS);
        expect(rows.map((row) => row.id)).toEqual(reference(rows, column, direction, param));
      });
    }
  }

  it("sorts a numeric parameter as numbers and a mixed one as text, over several experiments", async () => {
    const numeric = await allPages({
      experimentIds: [fixture.experiment],
      sort: { column: "param", param: "model.width", direction: "asc" },
      limit: 500,
    });
    expect([...new Set(numeric.map((row) => row.params["model.width"]))]).toEqual([8, 16, 128, 1024]);
    const mixed = await allPages({
      experimentIds: [fixture.mixed],
      sort: { column: "param", param: "model.width", direction: "asc" },
    });
    expect(mixed.map((row) => row.params["model.width"])).toEqual([8, "narrow", "wide"]);
    const both = await allPages({
      experimentIds: [fixture.experiment, fixture.mixed],
      sort: { column: "name", direction: "desc" },
      limit: 9,
    });
    expect(both).toHaveLength(RUNS + 3);
    expect(both.map((row) => row.name)).toEqual([...both.map((row) => row.name)].sort().reverse());
  });

  it("filters by status, search (name, notes, tags; wildcards are literal) and parameter ranges", async () => {
    const list = (filter: RunsTableInput["filter"]) =>
      allPages({ experimentIds: [fixture.experiment], filter, limit: 500 });
    const failed = await list({ status: ["failed", "diverged"] });
    expect(failed.length).toBe(20);
    expect(new Set(failed.map((row) => row.status))).toEqual(new Set(["failed", "diverged"]));
    expect((await list({ search: "SPIKED" })).map((row) => row.name)).toEqual(["run-007"]);
    expect((await list({ search: "run-01" })).length).toBe(10);
    expect((await list({ search: "50%_" })).length).toBe(6);
    expect((await list({ search: "5_%" })).length).toBe(0);
    const wide = await list({ params: { "model.width": { min: 100, max: 1024 } } });
    expect(new Set(wide.map((row) => row.params["model.width"]))).toEqual(new Set([128, 1024]));
    expect(
      (await list({ params: { optimizer: { equals: "adam" }, "model.width": { equals: 16 } } })).every(
        (row) => row.params.optimizer === "adam" && row.params["model.width"] === 16,
      ),
    ).toBe(true);
    expect((await list({ params: { optimizer: { min: 1 } } })).length).toBe(0);
  });

  it("lists the swept parameter names of the experiments", async () => {
    const result = await caller(fixture.actors.viewer).runsTable.list({
      experimentIds: [fixture.experiment, fixture.mixed],
      limit: 1,
    });
    expect(result.columns).toEqual(["model.width", "optimizer", "seed", "training.lr"]);
    expect(result.rows).toHaveLength(1);
    expect(result.nextCursor).not.toBeNull();
  });

  it("refuses other teams' experiments as not found, and a forged cursor as bad input", async () => {
    expect(
      await codeOf(
        caller(fixture.actors.viewer).runsTable.list({ experimentIds: [fixture.experiment, fixture.foreign] }),
      ),
    ).toBe("NOT_FOUND");
    expect(await codeOf(caller(fixture.actors.outsider).runsTable.list({ experimentIds: [fixture.experiment] }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(caller(fixture.actors.viewer).runsTable.list({ experimentIds: ["missing"] }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(caller(null).runsTable.list({ experimentIds: [fixture.experiment] }))).toBe("UNAUTHORIZED");
    expect(
      await codeOf(
        caller(fixture.actors.viewer).runsTable.list({ experimentIds: [fixture.experiment], cursor: "not-a-cursor" }),
      ),
    ).toBe("BAD_REQUEST");
    expect(
      await codeOf(caller(fixture.actors.viewer).runsTable.list({ experimentIds: [fixture.experiment], limit: 501 })),
    ).toBe("BAD_REQUEST");
  });

  it("answers a hand-made cursor with a value the sort cannot read as 'invalid cursor', never a database error", async () => {
    const forge = (value: unknown, id: unknown = "x") => Buffer.from(JSON.stringify([value, id])).toString("base64url");
    const forged: [RunsTableInput["sort"], string][] = [
      [{ column: "createdAt", direction: "desc" }, forge("not a time")],
      [{ column: "createdAt", direction: "asc" }, forge("2024-02-30 10:00:00")],
      [{ column: "status", direction: "asc" }, forge("exploded")],
      [{ column: "paramCount", direction: "asc" }, forge("99999999999999999999")],
      [{ column: "totalFlops", direction: "asc" }, forge("1e400")],
      [{ column: "finalMetric", direction: "asc" }, forge("'; select 1 --")],
      [{ column: "param", param: "model.width", direction: "asc" }, forge("wide")],
      [{ column: "name", direction: "asc" }, forge("a\u0000b")],
      [{ column: "name", direction: "asc" }, forge("a", 42)],
    ];
    for (const [sort, cursor] of forged) {
      const failure = await caller(fixture.actors.viewer)
        .runsTable.list({ experimentIds: [fixture.experiment], sort, cursor })
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(failure, JSON.stringify(sort)).toBeInstanceOf(TRPCError);
      expect((failure as TRPCError).code, JSON.stringify(sort)).toBe("BAD_REQUEST");
      expect((failure as TRPCError).message).toMatch(/^invalid cursor/);
    }
    // Cursors the table gave out still page, for each sort type.
    for (const sort of forged.map(([item]) => item)) {
      const page = await caller(fixture.actors.viewer).runsTable.list({
        experimentIds: [fixture.experiment],
        sort,
        limit: 2,
      });
      if (page.nextCursor)
        await caller(fixture.actors.viewer).runsTable.list({
          experimentIds: [fixture.experiment],
          sort,
          limit: 2,
          cursor: page.nextCursor,
        });
    }
  });
});

describe("runsTable.list by run id", () => {
  it("narrows to the named runs, across experiments when no experiment is named, and hides other teams' runs", async () => {
    const { db } = database;
    const [first, second] = await db.run.findMany({
      where: { experimentId: fixture.experiment },
      select: { id: true },
      orderBy: { name: "asc" },
      take: 2,
    });
    const other = await db.run.findFirstOrThrow({ where: { experimentId: fixture.mixed }, select: { id: true } });
    const theirs = await db.run.findFirstOrThrow({ where: { experimentId: fixture.foreign }, select: { id: true } });
    const viewer = caller(fixture.actors.viewer);

    const narrowed = await viewer.runsTable.list({
      experimentIds: [fixture.experiment],
      filter: { runIds: [first!.id, other.id] },
    });
    expect(narrowed.rows.map((row) => row.id)).toEqual([first!.id]);
    const across = await viewer.runsTable.list({
      filter: { runIds: [first!.id, second!.id, other.id] },
      sort: { column: "name", direction: "asc" },
    });
    expect(across.rows.map((row) => row.id)).toEqual([other.id, first!.id, second!.id]);
    expect(across.columns).toEqual(["model.width", "optimizer", "seed", "training.lr"]);

    expect(await codeOf(viewer.runsTable.list({ filter: { runIds: [first!.id, theirs.id] } }))).toBe("NOT_FOUND");
    expect(await codeOf(caller(fixture.actors.outsider).runsTable.list({ filter: { runIds: [first!.id] } }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(viewer.runsTable.list({ filter: { runIds: ["missing"] } }))).toBe("NOT_FOUND");
    expect(await codeOf(viewer.runsTable.list({ filter: {} }))).toBe("BAD_REQUEST");
  });
});

describe("runsTable.groups", () => {
  it("groups by a parameter with the final metric's count, mean, min and max", async () => {
    const { groups } = await caller(fixture.actors.viewer).runsTable.groups({
      experimentIds: [fixture.experiment],
      groupBy: "model.width",
      metric: "val/loss",
    });
    expect(groups.map((group) => group.value)).toEqual([8, 16, 128, 1024]);
    const rows = await allPages({ experimentIds: [fixture.experiment], limit: 500 });
    for (const group of groups) {
      const members = rows.filter((row) => row.params["model.width"] === group.value);
      const finals = members
        .map((row) => row.finalMetric)
        .filter((value): value is number => value !== null && Number.isFinite(value));
      expect(group.count).toBe(members.length);
      expect(group.metricCount).toBe(finals.length);
      expect(group.min).toBe(Math.min(...finals));
      expect(group.max).toBe(Math.max(...finals));
      expect(group.mean).toBeCloseTo(finals.reduce((sum, value) => sum + value, 0) / finals.length, 10);
    }
    const filtered = await caller(fixture.actors.viewer).runsTable.groups({
      experimentIds: [fixture.experiment],
      groupBy: "optimizer",
      filter: { status: ["queued"] },
    });
    expect(filtered.groups.reduce((sum, group) => sum + group.count, 0)).toBe(10);
  });
});

describe("runsTable.list sorted by a metric or a parameter, as runs are applied, tracked and logged", () => {
  it("orders runs added by a re-apply or tracked by hand, and re-orders when new points change a final value", async () => {
    const { db } = database;
    const queue = await startProducerQueue(database.url);
    const team = await db.project.findFirstOrThrow({
      where: { experiments: { some: { id: fixture.experiment } } },
      select: { teamId: true },
    });
    try {
      const spec = (widths: string) =>
        parseSpec(
          `project: Sorted\nexperiment: sorted-widths\ndataset: { kind: teacher, inputs: 4, samples: 64 }\nmodel: { family: mlp, depth: 1, width: 4 }\ntraining: { optimizer: { kind: adam, lr: 0.01 }, batchSize: 16, budget: { steps: 5 } }\nsweep: { parameters: { model.width: ${widths} } }\n`,
          "sorted.yaml",
        );
      const first = spec("[4, 8]");
      const { experimentId } = await applySpec(
        db,
        queue.queue,
        { teamId: team.teamId, userId: null },
        first,
        expandSweep(first),
      );
      const widthsDesc = async () =>
        (
          await allPages({
            experimentIds: [experimentId],
            sort: { column: "param", param: "model.width", direction: "desc" },
            limit: 2,
          })
        ).map((row) => row.params["model.width"]);
      expect(await widthsDesc()).toEqual([8, 4]);
      const wider = spec("[2, 4, 8, 16]");
      expect(
        (await applySpec(db, queue.queue, { teamId: team.teamId, userId: null }, wider, expandSweep(wider))).created,
      ).toHaveLength(2);
      expect(await widthsDesc()).toEqual([16, 8, 4, 2]);
      // Values and keys too long for an index entry are stored (and sorted) too.
      const config = { "model.width": 12, description: randomBytes(6000).toString("base64"), ["k".repeat(300)]: 1 };
      const tracked = await createTrackedRun(db, team.teamId, {
        project: "Sorted",
        experiment: "sorted-widths",
        name: "by-hand",
        config,
        tags: [],
      });
      expect(await widthsDesc()).toEqual([16, 12, 8, 4, 2]);
      const described = await allPages({
        experimentIds: [experimentId],
        sort: { column: "param", param: "description", direction: "desc" },
        limit: 2,
      });
      expect(described[0]!.id).toBe(tracked.runId);
      expect(described).toHaveLength(5);

      // Final values 0.5, 0.4, 0.3, 0.2 by width 2..16; the tracked run logs nothing and sorts last.
      const runs = await allPages({
        experimentIds: [experimentId],
        sort: { column: "param", param: "model.width", direction: "asc" },
      });
      const byWidth = new Map(runs.map((row) => [row.params["model.width"], row.id]));
      for (const [index, width] of [2, 4, 8, 16].entries()) {
        await ingestPoints(db, byWidth.get(width)!, [
          { key: "val/loss", step: 0, value: 1 },
          { key: "val/loss", step: 10, value: 0.5 - index / 10 },
        ]);
      }
      const widthsBy = async (column: "finalMetric" | "bestMetric", direction: "asc" | "desc") =>
        (
          await allPages({ experimentIds: [experimentId], sort: { column, direction }, metric: "val/loss", limit: 2 })
        ).map((row) => row.params["model.width"]);
      expect(await widthsBy("finalMetric", "asc")).toEqual([16, 8, 4, 2, 12]);
      expect(await widthsBy("bestMetric", "desc")).toEqual([2, 4, 8, 16, 12]);
      // Width 2 keeps training and ends best; an older step arriving late lowers width 16's best value, not its final one.
      await ingestPoints(db, byWidth.get(2)!, [{ key: "val/loss", step: 20, value: 0.1 }]);
      await ingestPoints(db, byWidth.get(16)!, [{ key: "val/loss", step: 5, value: 0.05 }]);
      expect(await widthsBy("finalMetric", "asc")).toEqual([2, 16, 8, 4, 12]);
      // Best (lowest) values now: 2 -> 0.1, 4 -> 0.4, 8 -> 0.3, 16 -> 0.05.
      expect(await widthsBy("bestMetric", "asc")).toEqual([16, 2, 8, 4, 12]);
    } finally {
      await queue.stop();
    }
  });
});

describe("runsTable.annotate", () => {
  it("lets editors set tags and notes, refuses viewers, and hides other teams' runs", async () => {
    const run = await database.db.run.findFirstOrThrow({
      where: { experimentId: fixture.experiment, name: "run-001" },
      select: { id: true },
    });
    const updated = await caller(fixture.actors.editor).runsTable.annotate({
      runId: run.id,
      tags: ["keep", " keep ", "best"],
      notes: "good run",
    });
    expect(updated).toMatchObject({ id: run.id, tags: ["keep", "best"], notes: "good run" });
    const cleared = await caller(fixture.actors.editor).runsTable.annotate({ runId: run.id, notes: null });
    expect(cleared).toMatchObject({ tags: ["keep", "best"], notes: null });
    expect(await codeOf(caller(fixture.actors.viewer).runsTable.annotate({ runId: run.id, tags: [] }))).toBe(
      "FORBIDDEN",
    );
    expect(await codeOf(caller(fixture.actors.outsider).runsTable.annotate({ runId: run.id, tags: [] }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(caller(fixture.actors.editor).runsTable.annotate({ runId: "missing", tags: [] }))).toBe(
      "NOT_FOUND",
    );
    expect(
      await codeOf(caller(fixture.actors.editor).runsTable.annotate({ runId: run.id, tags: ["x".repeat(65)] })),
    ).toBe("BAD_REQUEST");
  });
});

describe("live.runEvents", () => {
  /** The next event, or a failure after `ms`. */
  async function nextWithin(iterator: AsyncIterator<LiveRunEvent>, ms: number): Promise<LiveRunEvent> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
    });
    try {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error("the subscription ended");
      return next.value;
    } finally {
      clearTimeout(timer);
    }
  }

  async function subscribe(actor: Actor, input: { experimentIds?: string[]; runIds?: string[] }) {
    const controller = new AbortController();
    const live = createCaller(createTRPCContext({ db: database.db, actor }), { signal: controller.signal });
    const iterable = await live.live.runEvents(input);
    const iterator = iterable[Symbol.asyncIterator]();
    return {
      iterator,
      stop: async () => {
        controller.abort();
        await iterator.return?.();
      },
    };
  }

  it("delivers a NOTIFY for a followed experiment within 2 s, and nothing from other experiments", async () => {
    const { db } = database;
    const [inside, elsewhere] = await Promise.all([
      db.run.findFirstOrThrow({ where: { experimentId: fixture.experiment }, select: { id: true } }),
      db.run.findFirstOrThrow({ where: { experimentId: fixture.mixed }, select: { id: true } }),
    ]);
    const subscription = await subscribe(fixture.actors.viewer, { experimentIds: [fixture.experiment] });
    try {
      expect(await nextWithin(subscription.iterator, 5000)).toEqual({ type: "ready" });
      const sent = performance.now();
      await publishRunEvent(db, { runId: elsewhere.id, status: "running" });
      // As the worker sends new points: no experiment in the payload, the hub looks it up.
      await publishRunEvent(db, { runId: inside.id, step: 42, keys: ["train/loss"] });
      const event = await nextWithin(subscription.iterator, 2000);
      expect(performance.now() - sent).toBeLessThan(2000);
      expect(event).toEqual({
        type: "run",
        runId: inside.id,
        experimentId: fixture.experiment,
        step: 42,
        keys: ["train/loss"],
      });
      await publishRunEvent(db, { runId: inside.id, experimentId: fixture.experiment, status: "succeeded" });
      expect(await nextWithin(subscription.iterator, 2000)).toMatchObject({
        type: "run",
        runId: inside.id,
        status: "succeeded",
      });
    } finally {
      await subscription.stop();
    }
  });

  it("follows single runs, shares one listener, and resyncs after the connection drops", async () => {
    const { db } = database;
    const runs = await db.run.findMany({
      where: { experimentId: fixture.experiment },
      select: { id: true },
      take: 2,
      orderBy: { name: "asc" },
    });
    const first = await subscribe(fixture.actors.viewer, { runIds: [runs[0]!.id] });
    const second = await subscribe(fixture.actors.editor, { runIds: [runs[1]!.id] });
    try {
      expect(await nextWithin(first.iterator, 5000)).toEqual({ type: "ready" });
      expect(await nextWithin(second.iterator, 5000)).toEqual({ type: "ready" });
      expect(hub.subscriberCount).toBe(2);
      const listeners = await db.$queryRaw<
        { pid: number }[]
      >`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN scaleboard_runs'`;
      expect(listeners).toHaveLength(1);

      await db.$queryRaw`SELECT pg_terminate_backend(${listeners[0]!.pid}::int)`;
      expect(await nextWithin(first.iterator, 5000)).toEqual({ type: "resync" });
      expect(await nextWithin(second.iterator, 5000)).toEqual({ type: "resync" });

      await publishRunEvent(db, { runId: runs[1]!.id, status: "failed" });
      await publishRunEvent(db, { runId: runs[0]!.id, status: "running" });
      expect(await nextWithin(first.iterator, 2000)).toMatchObject({
        type: "run",
        runId: runs[0]!.id,
        status: "running",
      });
      expect(await nextWithin(second.iterator, 2000)).toMatchObject({
        type: "run",
        runId: runs[1]!.id,
        status: "failed",
      });
    } finally {
      await first.stop();
      await second.stop();
    }
    expect(hub.subscriberCount).toBe(0);
  });

  it("announces runs queued by an apply and queued runs canceled, at commit", async () => {
    const { db } = database;
    const queue = await startProducerQueue(database.url);
    const team = await db.project.findFirstOrThrow({
      where: { experiments: { some: { id: fixture.experiment } } },
      select: { teamId: true },
    });
    const parsed = parseSpec(
      `project: Live apply\nexperiment: queued-live\ndataset: { kind: teacher, inputs: 4, samples: 64 }\nmodel: { family: mlp, depth: 1, width: 4 }\ntraining: { optimizer: { kind: adam, lr: 0.01 }, batchSize: 16, budget: { steps: 5 } }\nsweep: { parameters: { model.width: [4, 8] } }\n`,
      "queued-live.yaml",
    );
    // The experiment is new: create it with a first apply, then follow it and apply a wider sweep.
    const first = await applySpec(db, queue.queue, { teamId: team.teamId, userId: null }, parsed, expandSweep(parsed));
    const subscription = await subscribe(fixture.actors.viewer, { experimentIds: [first.experimentId] });
    try {
      expect(await nextWithin(subscription.iterator, 5000)).toEqual({ type: "ready" });
      const wider = parseSpec(parsed.source.replace("[4, 8]", "[4, 8, 16]"), "queued-live.yaml");
      const second = await applySpec(db, queue.queue, { teamId: team.teamId, userId: null }, wider, expandSweep(wider));
      expect(second.created).toHaveLength(1);
      expect(await nextWithin(subscription.iterator, 2000)).toEqual({
        type: "run",
        runId: second.created[0],
        experimentId: first.experimentId,
        status: "queued",
      });

      const canceled = await cancelRuns(db, { experimentId: first.experimentId });
      expect(canceled).toEqual({ canceled: 3, stopping: 0 });
      const events = [
        await nextWithin(subscription.iterator, 2000),
        await nextWithin(subscription.iterator, 2000),
        await nextWithin(subscription.iterator, 2000),
      ];
      expect(
        events.map((event) => (event.type === "run" ? `${event.runId}:${event.status}` : event.type)).sort(),
      ).toEqual([...first.created, ...second.created].map((runId) => `${runId}:canceled`).sort());
    } finally {
      await subscription.stop();
      await queue.stop();
    }
  });

  it("checks access on subscribe", async () => {
    const live = (actor: Actor | null) => createCaller(createTRPCContext({ db: database.db, actor })).live;
    expect(await codeOf(live(fixture.actors.outsider).runEvents({ experimentIds: [fixture.experiment] }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(live(fixture.actors.viewer).runEvents({ experimentIds: [fixture.foreign] }))).toBe("NOT_FOUND");
    const theirs = await database.db.run.findFirstOrThrow({
      where: { experimentId: fixture.foreign },
      select: { id: true },
    });
    expect(await codeOf(live(fixture.actors.viewer).runEvents({ runIds: [theirs.id] }))).toBe("NOT_FOUND");
    expect(await codeOf(live(null).runEvents({ experimentIds: [fixture.experiment] }))).toBe("UNAUTHORIZED");
    expect(await codeOf(live(fixture.actors.viewer).runEvents({}))).toBe("BAD_REQUEST");
  });
});
