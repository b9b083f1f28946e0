import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker } from "../helpers/worker-process.ts";
import {
  ROOT,
  signUp,
  startServer,
  teamOf,
  trpc,
  type SecurityServer,
  type Session,
  type TrpcResult,
} from "./server.ts";

/**
 * Confined files and quiet errors, against a real server with sign-in on: a signed-up editor's
 * specs cannot read files outside the dataset roots (absolute paths, `..`, links out of a root),
 * and no answer carries a file's contents, the server's install path, or a database error.
 */

const datasets = realpathSync(mkdtempSync(path.join(os.tmpdir(), "scaleboard-security-datasets-")));
let server: SecurityServer;
let editor: Session;
let teamId: string;

beforeAll(async () => {
  mkdirSync(path.join(datasets, "data"));
  writeFileSync(path.join(datasets, "data", "ok.csv"), "a,b,y\n1,2,3\n4,5,6\n");
  symlinkSync("/etc/hosts", path.join(datasets, "hosts.csv"));
  symlinkSync("/etc", path.join(datasets, "etc"));
  server = await startServer({ env: { SCALEBOARD_DATASETS_DIR: datasets } });
  editor = await signUp(server, "files-editor");
  teamId = await teamOf(server, editor);
});

afterAll(async () => {
  await server?.stop();
  rmSync(datasets, { recursive: true, force: true });
});

const spec = (file: string, experiment = "paths") => `project: Files
experiment: ${experiment}
dataset:
  kind: csv
  path: ${JSON.stringify(file)}
  features: [a, b]
  target: y
model: { family: linear }
training: { optimizer: { kind: sgd, lr: 0.01 }, budget: { steps: 5 } }
`;

/** What must never appear in an answer: file contents, the install path, database internals (unless the caller wrote it). */
function expectNothingLeaked(result: TrpcResult<unknown>, written = "") {
  for (const secret of [
    "localhost",
    "127.0.0.1",
    "root:x:0",
    ROOT,
    "SQLSTATE",
    "Prisma",
    "invalid input syntax",
    "    at ",
  ].filter((text) => !written.includes(text))) {
    expect(result.raw, `the answer contains ${JSON.stringify(secret)}`).not.toContain(secret);
  }
}

type Issue = { path: string; message: string };
const issuesOf = (result: TrpcResult<unknown>) =>
  ((result.error?.data as { specIssues?: Issue[] } | undefined)?.specIssues ?? []) as Issue[];

describe("dataset paths", () => {
  const refused: [string, RegExp][] = [
    ["/etc/hosts", /^dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples\/; \/etc\/hosts is not$/],
    ["../../../../etc/passwd", /climbs out of them with \.\.$/],
    ["data/../../../../../etc/passwd", /climbs out of them with \.\.$/],
    [
      "hosts.csv",
      /^dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples\/; hosts.csv leads outside them through a symbolic link$/,
    ],
    ["etc/passwd", /leads outside them through a symbolic link$/],
    [path.join(datasets, "../../etc/passwd"), /is not$/],
    [path.join(ROOT, "package.json"), /is not$/],
  ];

  for (const [file, rule] of refused) {
    it(`refuses ${file} when the spec is validated, planned and applied, naming the rule and nothing of the file`, async () => {
      const source = spec(file);
      const validated = await trpc<{ ok: boolean; issues: Issue[] }>(server, editor, "spec.validate", {
        source,
        fileName: "spec.yaml",
      });
      expectNothingLeaked(validated, file);
      expect(validated.data?.ok).toBe(false);
      expect(validated.data?.issues.find((issue) => issue.path === "dataset.path")?.message).toMatch(rule);

      for (const [procedure, kind] of [
        ["spec.plan", "query"],
        ["spec.applySpec", "mutation"],
      ] as const) {
        const result = await trpc(server, editor, procedure, { teamId, source, fileName: "spec.yaml" }, kind);
        expectNothingLeaked(result, file);
        expect(result.status, `${procedure}: ${result.raw}`).toBe(400);
        const issue = issuesOf(result).find((item) => item.path === "dataset.path");
        expect(issue?.message, `${procedure}: ${result.raw}`).toMatch(rule);
      }
    });
  }

  it("plans and applies a file inside SCALEBOARD_DATASETS_DIR, and the shipped example", async () => {
    const planned = await trpc<{ create: unknown[] }>(server, editor, "spec.plan", {
      teamId,
      source: spec("data/ok.csv", "allowed"),
      fileName: "spec.yaml",
    });
    expect(planned.status, planned.raw).toBe(200);
    expect(planned.data?.create).toHaveLength(1);
    const example = await trpc<{ create: unknown[] }>(server, editor, "spec.plan", {
      teamId,
      source: spec("data/linear-regression.csv", "example"),
      fileName: "spec.yaml",
    });
    expect(example.status, example.raw).toBe(200);
  });
});

describe("the worker checks again before it reads", () => {
  it("a path that became a link out of the root after the plan, and a file with a bad cell, fail the run without quoting the file", async () => {
    // Allowed when applied (no root holds later.csv yet: a remote worker might); the link appears afterwards.
    const source = `${spec("later.csv", "worker")}sweep:\n  parameters:\n    dataset.path: [later.csv, cells.csv]\n`;
    const applied = await trpc<{ experimentId: string }>(
      server,
      editor,
      "spec.applySpec",
      { teamId, source, fileName: "spec.yaml" },
      "mutation",
    );
    expect(applied.status, applied.raw).toBe(200);
    symlinkSync("/etc/hosts", path.join(datasets, "later.csv"));
    writeFileSync(path.join(datasets, "cells.csv"), "a,b,y\n1,root:x:0:0:root:/root:/bin/bash,3\n");
    const worker = startWorker(server.databaseUrl, {
      name: "files-worker",
      slots: 1,
      env: { SCALEBOARD_AUTH: "on", SCALEBOARD_DATASETS_DIR: datasets, TF_BACKEND: "cpu" },
    });
    try {
      await worker.ready;
      const experimentIds = [applied.data!.experimentId];
      type Row = { id: string; name: string; status: string };
      let rows: Row[] = [];
      for (let attempt = 0; attempt < 240; attempt++) {
        rows = (await trpc<{ rows: Row[] }>(server, editor, "runsTable.list", { experimentIds })).data?.rows ?? [];
        if (rows.length === 2 && rows.every((row) => row.status === "failed")) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(rows.map((row) => row.status)).toEqual(["failed", "failed"]);
      const errors: Record<string, string> = {};
      for (const row of rows) {
        const run = await trpc<{ error: string | null }>(server, editor, "run.get", { runId: row.id });
        const logs = await trpc(server, editor, "run.logs", { runId: row.id });
        for (const answer of [run, logs]) expectNothingLeaked(answer);
        errors[row.name.includes("later") ? "later" : "cells"] = run.data?.error ?? "";
      }
      expect(errors.later).toContain(
        "dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples/; later.csv leads outside them through a symbolic link",
      );
      expect(errors.cells).toContain("dataset: cells.csv line 2: column b is not a number");
    } finally {
      await worker.killAll();
    }
  });
});

describe("database errors", () => {
  it("a hand-made runsTable cursor is a 400 'invalid cursor' without Prisma's message or SQLSTATE", async () => {
    const applied = await trpc<{ experimentId: string }>(
      server,
      editor,
      "spec.applySpec",
      { teamId, source: spec("data/ok.csv", "cursor"), fileName: "spec.yaml" },
      "mutation",
    );
    expect(applied.status, applied.raw).toBe(200);
    const experimentIds = [applied.data!.experimentId];
    const forge = (value: unknown) => Buffer.from(JSON.stringify([value, "x"])).toString("base64url");
    for (const [sort, cursor] of [
      [{ column: "createdAt", direction: "desc" }, forge("yesterday")],
      [{ column: "paramCount", direction: "asc" }, forge("1e99")],
      [{ column: "status", direction: "asc" }, forge('\'; drop table "Run"; --')],
      [{ column: "createdAt", direction: "desc" }, "%%%"],
    ] as const) {
      const result = await trpc(server, editor, "runsTable.list", { experimentIds, sort, cursor });
      expectNothingLeaked(result);
      expect(result.status, result.raw).toBe(400);
      expect(result.error?.message).toMatch(/^invalid cursor/);
    }
    const listed = await trpc<{ rows: unknown[] }>(server, editor, "runsTable.list", { experimentIds });
    expect(listed.data?.rows).toHaveLength(1);
  });
});
