import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { formatImportIssue, ImportError, type ImportedRun, type ImportIssue } from "../domain/imports/import-issue.ts";
import { parseMetricsCsv } from "../domain/imports/parse-metrics-csv.ts";
import { readTensorboardDir } from "../domain/imports/read-tensorboard-dir.ts";
import { ingestPoints } from "../domain/metrics/ingest-points.ts";
import {
  createTrackedRun,
  finishTrackedRun,
  heartbeatTrackedRun,
  updateTrackedRun,
} from "../domain/tracking/track-run.ts";
import { EnvError, parseEnv } from "../env.ts";
import { MAX_BODY_BYTES, MAX_POINTS } from "../http/v1-schemas.ts";
import type { Backend } from "./backend.ts";
import { out, parseCommandLine } from "./command-line.ts";
import { formatCount, table, toJson } from "./format.ts";
import { importScalingTableLocally, readScalingTable } from "./import-scaling-table.ts";
import { runCli } from "./run-cli.ts";

/**
 * `scaleboard import csv FILE` and `scaleboard import tensorboard DIR`: metrics logged elsewhere
 * become tracked runs, finished as succeeded, so tables, charts and fits treat them like any other.
 * The file is read and checked whole before anything is written: a bad row changes nothing.
 */

// The same codes as the other commands (server/cli/main.ts).
const EXIT = { ok: 0, invalid: 1, usage: 2, unreachable: 4 } as const;

class ImportFailure extends Error {
  override name = "ImportFailure";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** ImportFailure and openBackend's CliError both say which exit code they mean. */
function exitCodeOf(error: unknown): number {
  const code = (error as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === "number" ? code : EXIT.invalid;
}

const USAGE = `Usage: scaleboard import csv FILE | tensorboard DIR | scaling-table FILE [options]

  csv FILE                  long-form metrics: a header naming run, key, step, value (and
                            optionally wallTime, seconds since the epoch), in any order; values
                            may be nan, inf, -inf. One run per distinct "run".
  tensorboard DIR           every events.out.tfevents.* file under DIR; each folder is one run,
                            named by its path below DIR. Scalars only (simple_value and TF2 scalar tensors).
  scaling-table FILE        finished runs, one a row: params, tokens, loss (flops and seed optional;
                            flops defaults to 6*params*tokens; other columns become config). One
                            succeeded run per row; importing the same table again changes nothing.

Options:
  --project P               the project to import into (default "Imports")
  --experiment E            the experiment (default: the file's or folder's name)
  --metric KEY              scaling-table: the key the loss is recorded under (default val/loss)
  --json                    machine-readable summary
  --server URL              import through a Scaleboard server (ingest API key in SCALEBOARD_API_KEY)
  --team SLUG               the team, when you are in several (local database only)

Exit codes: 0 imported, 1 unreadable or invalid input, 2 usage, 4 unreachable`;

const ZImportTarget = z.object({
  project: z.string().trim().min(1, "--project is empty").max(100, "--project is longer than 100 characters"),
  experiment: z
    .string()
    .trim()
    .min(1, "--experiment is empty")
    .max(100, "the experiment name is longer than 100 characters; choose one with --experiment"),
});
type ImportTarget = z.infer<typeof ZImportTarget>;

type Point = ImportedRun["points"][number];

const MAX_WARNINGS_SHOWN = 20;

/** Where runs go: the database directly, or a server's /api/v1. The same domain functions either way. */
type RunSink = {
  createRun: (input: {
    project: string;
    experiment: string;
    name: string;
    notes: string;
  }) => Promise<{ runId: string; experimentId: string }>;
  logPoints: (runId: string, points: Point[]) => Promise<void>;
  finish: (
    runId: string,
    input: { status: "succeeded" | "failed"; lastStep?: number; wallClockSeconds?: number; error?: string },
  ) => Promise<void>;
  close: () => Promise<void>;
};

async function openLocalSink(team: string | undefined): Promise<RunSink> {
  // Loaded here, not at the top: Prisma and tRPC take seconds to load, and a usage or CSV error needs neither.
  const [{ createDb }, { openBackend, openLocalDatabase }] = await Promise.all([
    import("../db.ts"),
    import("./backend.ts"),
  ]);
  const { url, stopEmbedded } = await openLocalDatabase();
  // openBackend migrates and picks the team exactly as the other commands do, in this same database.
  let backend: Backend;
  try {
    backend = await openBackend({ team, databaseUrl: url });
  } catch (error) {
    await stopEmbedded?.();
    throw error;
  }
  const { teamId } = backend;
  const db = createDb(url);
  return {
    createRun: async (input) => {
      const run = await createTrackedRun(db, teamId, { ...input, config: {}, tags: ["imported"] });
      await updateTrackedRun(db, teamId, run.runId, { notes: input.notes });
      return { runId: run.runId, experimentId: run.experimentId };
    },
    logPoints: async (runId, points) => {
      await ingestPoints(db, runId, points);
    },
    finish: async (runId, input) => {
      if (input.lastStep !== undefined) await heartbeatTrackedRun(db, teamId, runId, { step: input.lastStep });
      await finishTrackedRun(db, teamId, runId, {
        status: input.status,
        error: input.error,
        wallClockSeconds: input.wallClockSeconds,
      });
    },
    close: async () => {
      await db.$disconnect();
      await backend.close();
      await stopEmbedded?.();
    },
  };
}

/** JSON has no NaN or infinities; the API takes them as strings. */
function apiValue(value: number): number | string {
  return Number.isFinite(value) ? value : Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
}

function remoteSink(server: string, apiKey: string): RunSink {
  const base = `${server.replace(/\/$/, "")}/api/v1`;
  const post = async (route: string, body: string): Promise<Record<string, unknown>> => {
    let response: Response;
    try {
      response = await fetch(`${base}${route}`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body,
      });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      throw new ImportFailure(`Cannot reach ${server}: ${cause ?? (error as Error).message}`, EXIT.unreachable);
    }
    const answer = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    if (!response.ok)
      throw new ImportFailure(
        `${server} refused POST /api/v1${route} (${response.status}): ${answer?.error?.message ?? response.statusText}`,
        EXIT.invalid,
      );
    return answer ?? {};
  };
  const send = async (runId: string, points: Point[]): Promise<void> => {
    const body = JSON.stringify({ points: points.map((point) => ({ ...point, value: apiValue(point.value) })) });
    // Long keys can make 10,000 points more than the API's 1 MB body: halve until it fits.
    if (body.length > MAX_BODY_BYTES && points.length > 1) {
      const half = Math.ceil(points.length / 2);
      await send(runId, points.slice(0, half));
      await send(runId, points.slice(half));
      return;
    }
    await post(`/runs/${encodeURIComponent(runId)}/points`, body);
  };
  return {
    createRun: async (input) => {
      const run = await post(
        "/runs",
        JSON.stringify({
          project: input.project,
          experiment: input.experiment,
          name: input.name,
          config: {},
          tags: ["imported"],
        }),
      );
      const runId = String(run.runId);
      await post(`/runs/${encodeURIComponent(runId)}/summary`, JSON.stringify({ notes: input.notes }));
      return { runId, experimentId: String(run.experimentId) };
    },
    logPoints: send,
    finish: async (runId, input) => {
      const route = `/runs/${encodeURIComponent(runId)}`;
      if (input.lastStep !== undefined) await post(`${route}/heartbeat`, JSON.stringify({ step: input.lastStep }));
      await post(
        `${route}/finish`,
        JSON.stringify({ status: input.status, error: input.error, wallClockSeconds: input.wallClockSeconds }),
      );
    },
    close: async () => undefined,
  };
}

type ImportedRunResult = { name: string; runId: string; points: number; keys: number; lastStep: number };

async function writeRuns(sink: RunSink, target: ImportTarget, runs: ImportedRun[], notes: string) {
  let experimentId: string | null = null;
  const results: ImportedRunResult[] = [];
  for (const run of runs) {
    const created = await sink.createRun({ ...target, name: run.name, notes });
    experimentId = created.experimentId;
    try {
      for (let start = 0; start < run.points.length; start += MAX_POINTS)
        await sink.logPoints(created.runId, run.points.slice(start, start + MAX_POINTS));
      let lastStep = 0;
      let firstWall = Number.POSITIVE_INFINITY;
      let lastWall = Number.NEGATIVE_INFINITY;
      for (const point of run.points) {
        lastStep = Math.max(lastStep, point.step);
        if (point.wallTime !== undefined) {
          firstWall = Math.min(firstWall, point.wallTime);
          lastWall = Math.max(lastWall, point.wallTime);
        }
      }
      await sink.finish(created.runId, {
        status: "succeeded",
        lastStep,
        ...(lastWall >= firstWall ? { wallClockSeconds: lastWall - firstWall } : {}),
      });
      results.push({
        name: run.name,
        runId: created.runId,
        points: run.points.length,
        keys: new Set(run.points.map((point) => point.key)).size,
        lastStep,
      });
    } catch (error) {
      // The run exists but is incomplete: say so on the run itself, then report the first failure.
      const message = error instanceof Error ? error.message : String(error);
      await sink
        .finish(created.runId, { status: "failed", error: `Import stopped: ${message}`.slice(0, 10_000) })
        .catch(() => undefined);
      throw new ImportFailure(
        `importing run "${run.name}" (${created.runId}) failed: ${message}. It is marked failed; ${results.length} run(s) before it were imported.`,
        exitCodeOf(error),
      );
    }
  }
  return { experimentId, runs: results };
}

async function readInput(
  kind: "csv" | "tensorboard",
  source: string,
): Promise<{ runs: ImportedRun[]; warnings: ImportIssue[]; defaultExperiment: string }> {
  // Problems name files as the user would type them: relative below the working folder, else as given.
  const relative = path.relative(process.cwd(), path.resolve(source));
  const shown = relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : source;
  if (kind === "tensorboard") {
    const read = await readTensorboardDir(shown);
    return { runs: read.runs, warnings: read.issues, defaultExperiment: path.basename(path.resolve(source)) };
  }
  let text: string;
  try {
    text = await readFile(source, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImportError([
      {
        file: shown,
        message:
          code === "ENOENT"
            ? "no such file"
            : code === "EISDIR"
              ? "a directory, not a CSV file"
              : (error as Error).message,
      },
    ]);
  }
  const csv = parseMetricsCsv(text, shown);
  const warnings: ImportIssue[] = csv.replaced
    ? [
        {
          file: shown,
          message: `${csv.replaced} row(s) repeat an earlier run, key and step; the later row's value is kept`,
        },
      ]
    : [];
  return { runs: csv.runs, warnings, defaultExperiment: path.basename(source, path.extname(source)) };
}

async function importTable(
  source: string,
  values: { project?: string; experiment?: string; metric?: string; team?: string; json: boolean },
): Promise<number> {
  const fail = (message: string, code: number, issues: ImportIssue[] | null = null) => {
    if (values.json) out(toJson({ error: { message, issues } }));
    process.stderr.write(
      `${issues ? `${issues.map(formatImportIssue).join("\n")}\nNothing was imported.` : `scaleboard import: ${message}`}\n`,
    );
    return code;
  };
  const relative = path.relative(process.cwd(), path.resolve(source));
  const shown = relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : source;
  const target = ZImportTarget.extend({
    metric: z.string().trim().min(1, "--metric is empty").max(200, "--metric is longer than 200 characters"),
  }).safeParse({
    project: values.project ?? "Imports",
    experiment: values.experiment ?? path.basename(source, path.extname(source)),
    metric: values.metric ?? "val/loss",
  });
  if (!target.success) {
    process.stderr.write(`scaleboard import: ${target.error.issues.map((issue) => issue.message).join("; ")}\n`);
    return EXIT.usage;
  }
  try {
    const rows = await readScalingTable(source, shown);
    const result = await importScalingTableLocally({ team: values.team, ...target.data, rows, source });
    if (values.json) {
      out(
        toJson({
          experimentId: result.experimentId,
          runs: result.runs,
          created: result.created,
          updated: result.updated,
          unchanged: result.unchanged,
          project: target.data.project,
          experiment: target.data.experiment,
          metric: target.data.metric,
        }),
      );
    } else {
      out(
        `Imported ${result.runs} run(s) into ${target.data.project} / ${target.data.experiment} (${target.data.metric}): ${result.created} new, ${result.updated} updated, ${result.unchanged} unchanged. Experiment ${result.experimentId}.`,
      );
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ImportError) return fail(error.message, EXIT.invalid, error.issues);
    if (error instanceof EnvError) return fail(error.message, EXIT.invalid);
    return fail(error instanceof Error ? error.message : String(error), exitCodeOf(error));
  }
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("import", USAGE, argv, {
    project: { type: "string" },
    experiment: { type: "string" },
    metric: { type: "string" },
  });
  if ("exit" in parsed) return parsed.exit;
  const { values, usageError } = parsed;
  const [kind, source, ...extra] = parsed.positionals;
  if (kind !== "csv" && kind !== "tensorboard" && kind !== "scaling-table")
    return usageError(
      kind
        ? `unknown format "${kind}": csv, tensorboard or scaling-table`
        : "what to import? csv FILE, tensorboard DIR or scaling-table FILE",
    );
  if (!source)
    return usageError(
      kind === "tensorboard"
        ? "which directory? scaleboard import tensorboard runs/"
        : `which file? scaleboard import ${kind} ${kind === "csv" ? "metrics.csv" : "results.csv"}`,
    );
  if (extra.length) return usageError(`unexpected argument "${extra[0]}"`);
  if (values.server && values.team) return usageError("with --server the API key's team is used; leave out --team");
  if (values.metric !== undefined && kind !== "scaling-table")
    return usageError("--metric is for scaling-table; csv and tensorboard keep each row's own key");
  if (kind === "scaling-table") {
    if (values.server)
      return usageError(
        "scaling-table imports into the local database (DATABASE_URL); --server is not supported for it",
      );
    return importTable(source, values);
  }

  const fail = (message: string, code: number, issues: ImportIssue[] | null = null) => {
    if (values.json) out(toJson({ error: { message, issues } }));
    process.stderr.write(
      `${issues ? `${issues.map(formatImportIssue).join("\n")}\nNothing was imported.` : `scaleboard import: ${message}`}\n`,
    );
    return code;
  };

  let input: Awaited<ReturnType<typeof readInput>>;
  try {
    input = await readInput(kind, source);
  } catch (error) {
    if (error instanceof ImportError) return fail(error.message, EXIT.invalid, error.issues);
    throw error;
  }
  if (input.runs.length === 0)
    return fail(`${source}: no scalars to import`, EXIT.invalid, input.warnings.length ? input.warnings : null);
  const target = ZImportTarget.safeParse({
    project: values.project ?? "Imports",
    experiment: values.experiment ?? input.defaultExperiment,
  });
  if (!target.success) return usageError(target.error.issues.map((issue) => issue.message).join("; "));

  let sink: RunSink | null = null;
  try {
    if (values.server) {
      const apiKey = parseEnv().SCALEBOARD_API_KEY;
      if (!apiKey)
        return usageError(
          "--server needs an API key in SCALEBOARD_API_KEY (create one with scope ingest on the Team page)",
        );
      sink = remoteSink(values.server, apiKey);
    } else {
      sink = await openLocalSink(values.team);
    }
    const written = await writeRuns(
      sink,
      target.data,
      input.runs,
      `Imported from ${kind === "csv" ? "CSV" : "TensorBoard"} ${path.resolve(source)}`,
    );
    const pointCount = written.runs.reduce((sum, run) => sum + run.points, 0);
    const warnings = input.warnings.map(formatImportIssue);
    if (values.json) {
      out(
        toJson({
          format: kind,
          source,
          project: target.data.project,
          experiment: target.data.experiment,
          experimentId: written.experimentId,
          runs: written.runs,
          points: pointCount,
          warnings,
        }),
      );
    } else {
      out(
        `Imported ${written.runs.length} run(s), ${pointCount.toLocaleString("en-US")} point(s) into ${target.data.project} / ${target.data.experiment}:`,
      );
      out(
        table(
          ["RUN", "KEYS", "POINTS", "LAST STEP", "RUN ID"],
          written.runs.map((run) => [
            run.name,
            String(run.keys),
            formatCount(run.points),
            String(run.lastStep),
            run.runId,
          ]),
        ),
      );
    }
    for (const warning of warnings.slice(0, MAX_WARNINGS_SHOWN)) process.stderr.write(`warning: ${warning}\n`);
    if (warnings.length > MAX_WARNINGS_SHOWN)
      process.stderr.write(`warning: and ${warnings.length - MAX_WARNINGS_SHOWN} more (--json lists them all)\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof EnvError) return fail(error.message, EXIT.invalid);
    return fail(error instanceof Error ? error.message : String(error), exitCodeOf(error));
  } finally {
    await sink?.close().catch(() => undefined);
  }
}

runCli(main, "scaleboard import", EXIT.invalid);
