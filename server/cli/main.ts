import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { TRPCClientError } from "@trpc/client";
import { TRPCError } from "@trpc/server";
import { parse as parseYaml } from "yaml";
import { SpecError, formatIssues, type SpecIssue } from "../domain/spec/spec-issue.ts";
import type { Plan } from "../domain/spec/plan-spec.ts";
import { EnvError } from "../env.ts";
import { CliError, openBackend, type Backend } from "./backend.ts";
import {
  commandsWaitingLine,
  FINISHED_RUN_STATUSES,
  formatCount,
  formatDuration,
  progressBar,
  RUN_STATUS_COLUMNS,
  table,
  toJson,
} from "./format.ts";
import { EXIT, exitCodeOf } from "./exit-codes.ts";
import { runCli } from "./run-cli.ts";

/**
 * `scaleboard plan|apply|status|cancel|logs`. Exit codes: 0 done; 1 invalid spec or refused;
 * 2 usage; 3 apply not confirmed; 4 server or database unreachable; 5 sweep too large without --force.
 */

const USAGE = `Usage: scaleboard <command> [options]

Commands:
  plan FILE                 show what applying the spec would change
  apply FILE                apply it: create the new runs and queue them
      --yes                 do not ask for confirmation
      --retry-failed        queue failed, diverged and canceled runs of the spec again
      --prune               cancel queued runs no longer in the spec (results are never deleted)
      --force               allow sweeps over 10,000 cells
  status [EXPERIMENT]       experiments, or one experiment's runs with live progress
      --once                print once instead of following
  cancel RUN|EXPERIMENT     cancel a run, or every queued and running run of an experiment
  logs RUN [--follow]       print a run's log
  import csv FILE | tensorboard DIR | scaling-table FILE
                            import metrics or scaling results as finished runs (scaleboard import --help)
  key create|list|revoke    the team's API keys (admins; scaleboard key --help)
  start | dev | migrate | worker   run the product (see README)

Options for every command:
  --json                    machine-readable output
  --server URL              talk to a Scaleboard server (API key in SCALEBOARD_API_KEY);
                            without it, the local database is used directly
  --team SLUG               the team, when you are in several

Exit codes: 0 ok, 1 invalid spec or refused, 2 usage, 3 not confirmed, 4 unreachable, 5 needs --force`;

type Options = {
  json: boolean;
  server?: string;
  team?: string;
  yes: boolean;
  retryFailed: boolean;
  prune: boolean;
  force: boolean;
  once: boolean;
  follow: boolean;
};

function out(line = "") {
  process.stdout.write(`${line}\n`);
}

/** The dataset kind and budget a spec declares, to say why its FLOPs cannot be counted yet (best effort). */
function specFacts(source: string): { datasetKind: string | null; timeBudget: boolean } {
  try {
    const spec = parseYaml(source) as { dataset?: { kind?: unknown }; training?: { budget?: { seconds?: unknown } } };
    return {
      datasetKind: typeof spec?.dataset?.kind === "string" ? spec.dataset.kind : null,
      timeBudget: spec?.training?.budget?.seconds !== undefined,
    };
  } catch {
    return { datasetKind: null, timeBudget: false };
  }
}

/** Why a cell's FLOPs are not known before it runs; null when they are. */
function flopsUnknownReason(cell: Plan["create"][number], source: string): string | null {
  if (cell.totalFlops !== null) return null;
  if (cell.sizeError) return cell.sizeError;
  const facts = specFacts(source);
  if (cell.flopsPerStep === null) {
    const what = facts.datasetKind ? `${facts.datasetKind} datasets` : "this dataset";
    return `FLOPs unknown for ${what} until a worker reads the file (a full batch's size is its row count)`;
  }
  if (cell.steps === null)
    return facts.timeBudget
      ? "FLOPs unknown for a time budget (budget.seconds): the step count is known only after the run"
      : "FLOPs unknown: the step count depends on the dataset's size, known once a worker reads it";
  return "FLOPs unknown";
}

function printPlan(plan: Plan, fileName: string, source: string) {
  const from = plan.specVersion.latest;
  out(
    `Plan for ${plan.project.name} / ${plan.experiment.name}${plan.experiment.exists ? "" : " (new experiment)"}: ${fileName}`,
  );
  out(
    `  spec version: ${from === null ? "none -> 1" : plan.specVersion.changed ? `${from} -> ${from + 1}` : `${from} (unchanged)`}`,
  );
  out(
    `  + ${plan.create.length} to create   = ${plan.unchanged.length} unchanged   ~ ${plan.retry.length} failed (queued again only with --retry-failed)   - ${plan.remove.length} no longer in the spec (kept; --prune cancels queued ones)`,
  );
  if (plan.create.length) {
    out();
    const shown = plan.create.slice(0, 50);
    out(
      table(
        ["NEW RUN", "PARAMS", "FLOPS/STEP", "STEPS", "TOTAL FLOPS", "EST. TIME"],
        shown.map((cell) => [
          cell.name,
          formatCount(cell.paramCount),
          formatCount(cell.flopsPerStep),
          formatCount(cell.steps),
          formatCount(cell.totalFlops),
          formatDuration(cell.estimatedSeconds),
        ]),
      ),
    );
    if (plan.create.length > shown.length) out(`  ... and ${plan.create.length - shown.length} more`);
  }
  if (plan.dropped.length) {
    out(`\nDropped by the IsoFLOP sweep (${plan.dropped.length}):`);
    for (const cell of plan.dropped.slice(0, 50)) out(`  x ${cell.name}: ${cell.reason}`);
    if (plan.dropped.length > 50) out(`  ... and ${plan.dropped.length - 50} more`);
  }
  if (plan.retry.length) out(`\nFailed runs: ${plan.retry.map((run) => `${run.name} (${run.status})`).join(", ")}`);
  if (plan.remove.length)
    out(`\nNo longer in the spec: ${plan.remove.map((run) => `${run.name} (${run.status})`).join(", ")}`);
  out();
  const unknown = plan.create.map((cell) => flopsUnknownReason(cell, source)).find((reason) => reason !== null);
  const estimated =
    plan.totals.estimatedSeconds !== null && plan.create.every((cell) => cell.estimatedSeconds !== null);
  out(
    `Totals: ${plan.totals.create} new run(s) of ${plan.totals.cells} cell(s), ${formatCount(plan.totals.paramCount)} parameters` +
      (plan.totals.totalFlops !== null && !unknown ? `, ${formatCount(plan.totals.totalFlops)} FLOPs` : "") +
      (estimated && plan.totals.estimatedSeconds !== null && !unknown
        ? `, about ${formatDuration(plan.totals.estimatedSeconds)} of training (at this team's measured speed)`
        : ""),
  );
  if (plan.create.length && unknown) out(`  ${unknown}; no time estimate without them.`);
  else if (plan.create.length && !estimated)
    out("  No time estimate yet: it comes from this team's finished runs' measured speed.");
  if (plan.commands?.waiting) out(`\n${commandsWaitingLine(plan.commands.runs, plan.commands.waiting)}`);
}

async function readSpec(file: string | undefined): Promise<{ source: string; fileName: string }> {
  if (!file) throw new CliError("Which spec? Give a file: scaleboard plan examples/mlp-width-scaling.yaml", EXIT.usage);
  try {
    return { source: await readFile(file, "utf8"), fileName: path.relative(process.cwd(), path.resolve(file)) || file };
  } catch (error) {
    throw new CliError(
      `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`,
      EXIT.invalid,
    );
  }
}

async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

async function findExperiment(backend: Backend, name: string): Promise<{ id: string; name: string; project: string }> {
  const [projectName, experimentName] = name.includes("/") ? (name.split("/", 2) as [string, string]) : [null, name];
  const matches: { id: string; name: string; project: string }[] = [];
  const projects = await backend.api.project.list({ teamId: backend.teamId, limit: 100 });
  for (const project of projects.items) {
    if (projectName && project.name !== projectName && project.slug !== projectName) continue;
    for (const experiment of await backend.api.experiment.list({ projectId: project.id })) {
      if (experiment.name === experimentName || experiment.id === name)
        matches.push({ id: experiment.id, name: experiment.name, project: project.name });
    }
  }
  if (matches.length === 0) throw new CliError(`No experiment "${name}" in this team`, EXIT.invalid);
  if (matches.length > 1)
    throw new CliError(`"${name}" names experiments in several projects: write PROJECT/EXPERIMENT`, EXIT.usage);
  return matches[0]!;
}

async function listAllExperiments(backend: Backend) {
  const rows: { project: string; id: string; name: string; runCount: number; statusCounts: Record<string, number> }[] =
    [];
  const projects = await backend.api.project.list({ teamId: backend.teamId, limit: 100 });
  for (const project of projects.items) {
    for (const experiment of await backend.api.experiment.list({ projectId: project.id }))
      rows.push({ project: project.name, ...experiment });
  }
  return rows;
}

/**
 * The terminal rows a text takes: a line wider than the terminal wraps onto several, and redrawing a
 * live display must move up over all of them or the rows above keep pieces of the previous frame.
 */
function screenRows(text: string, columns: number | undefined): number {
  const width = columns && columns > 0 ? columns : Number.POSITIVE_INFINITY;
  return text.split("\n").reduce((rows, line) => rows + Math.max(1, Math.ceil([...line].length / width)), 0);
}

async function status(backend: Backend, target: string | undefined, options: Options) {
  if (!target) {
    const experiments = await listAllExperiments(backend);
    if (options.json) return out(toJson(experiments));
    if (experiments.length === 0) return out("No experiments yet: scaleboard apply examples/mlp-width-scaling.yaml");
    const statuses = RUN_STATUS_COLUMNS;
    out(
      table(
        ["PROJECT", "EXPERIMENT", "RUNS", ...statuses.map((item) => item.toUpperCase())],
        experiments.map((row) => [
          row.project,
          row.name,
          String(row.runCount),
          ...statuses.map((item) => String(row.statusCounts[item] ?? 0)),
        ]),
      ),
    );
    return;
  }
  const experiment = await findExperiment(backend, target);
  const follow = !options.json && !options.once && process.stdout.isTTY;
  let previousRows = 0;
  // Ctrl-C while following: the terminal's "^C" echo is cleared and the display ends on a clean line.
  const interrupted = () => {
    process.stdout.write("\r\u001b[2K");
    out("Stopped following (the runs go on).");
    process.exit(EXIT.ok);
  };
  if (follow) process.on("SIGINT", interrupted);
  while (true) {
    const runs = (await backend.api.run.list({ experimentId: experiment.id, limit: 1000 })).items;
    if (options.json) return out(toJson(runs));
    const done = runs.filter((run) => FINISHED_RUN_STATUSES.has(run.status)).length;
    const lines = [
      `${experiment.project} / ${experiment.name}: ${done}/${runs.length} finished ${progressBar(runs.length ? done / runs.length : 1)}`,
      table(
        ["RUN", "STATUS", "PROGRESS", "STEP", "PARAMS", "WALL", "WORKER"],
        runs.map((run) => [
          run.name,
          run.status,
          progressBar(run.status === "succeeded" ? 1 : run.progress, 12),
          String(run.step ?? "-"),
          formatCount(run.paramCount),
          formatDuration(run.wallClockSeconds),
          run.workerName ?? "-",
        ]),
      ),
    ];
    const text = lines.join("\n");
    if (follow && previousRows) process.stdout.write(`\r\u001b[${previousRows}A\u001b[0J`);
    out(text);
    previousRows = screenRows(text, process.stdout.columns);
    if (!follow || done === runs.length) {
      process.off("SIGINT", interrupted);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function cancel(backend: Backend, target: string | undefined, options: Options) {
  if (!target) throw new CliError("Which run or experiment? scaleboard cancel RUN_ID|EXPERIMENT", EXIT.usage);
  let result: { canceled: number; stopping: number };
  try {
    result = await backend.api.run.cancel({ runId: target });
  } catch (error) {
    const code =
      error instanceof TRPCError
        ? error.code
        : error instanceof TRPCClientError
          ? (error.data as { code?: string } | undefined)?.code
          : null;
    if (code !== "NOT_FOUND") throw error;
    const experiment = await findExperiment(backend, target);
    result = await backend.api.run.cancelExperiment({ experimentId: experiment.id });
  }
  if (options.json) return out(toJson(result));
  out(`Canceled ${result.canceled} queued run(s); asked ${result.stopping} running run(s) to stop.`);
}

async function logs(backend: Backend, runId: string | undefined, options: Options) {
  if (!runId) throw new CliError("Which run? scaleboard logs RUN_ID [--follow]", EXIT.usage);
  let after: bigint | null = null;
  while (true) {
    const page = await backend.api.run.logs({ runId, afterId: after });
    for (const line of page.lines)
      out(options.json ? toJson({ ...line, id: String(line.id) }).replace(/\n\s*/g, " ") : line.line);
    if (page.lines.length) after = page.lines.at(-1)!.id;
    if (!options.follow || (page.lines.length === 0 && page.status !== null && FINISHED_RUN_STATUSES.has(page.status)))
      return;
    if (page.lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function planOrApply(
  backend: Backend,
  command: "plan" | "apply",
  file: string | undefined,
  options: Options,
): Promise<number> {
  const { source, fileName } = await readSpec(file);
  const plan = await backend.api.spec.plan({ teamId: backend.teamId, source, fileName, force: options.force });
  if (command === "plan") {
    if (options.json) out(toJson(plan));
    else printPlan(plan, fileName, source);
    return EXIT.ok;
  }
  const changes =
    plan.create.length +
    (options.retryFailed ? plan.retry.length : 0) +
    (options.prune ? plan.remove.filter((run) => run.status === "queued").length : 0);
  if (!options.json) printPlan(plan, fileName, source);
  if (changes > 0 && !options.yes) {
    if (!process.stdin.isTTY)
      throw new CliError("Not applied: pass --yes to apply without a question", EXIT.notConfirmed);
    if (!(await confirm(`Apply: ${changes} change(s)? [y/N] `))) throw new CliError("Not applied.", EXIT.notConfirmed);
  }
  const result = await backend.api.spec.applySpec({
    teamId: backend.teamId,
    source,
    fileName,
    force: options.force,
    retryFailed: options.retryFailed,
    prune: options.prune,
  });
  if (options.json) {
    out(
      toJson({
        ...result.plan,
        applied: {
          experimentId: result.experimentId,
          specVersion: result.specVersion,
          created: result.created,
          retried: result.retried,
          canceled: result.canceled,
        },
      }),
    );
  } else if (result.created.length + result.retried.length + result.canceled.length === 0) {
    out("Nothing to do: the database already matches the spec.");
  } else {
    out(
      `Applied: ${result.created.length} new run(s) queued, ${result.retried.length} retried, ${result.canceled.length} canceled (spec version ${result.specVersion}).`,
    );
  }
  return EXIT.ok;
}

function issuesOf(error: unknown): { issues: SpecIssue[] | null; message: string } {
  if (error instanceof SpecError) return { issues: error.issues, message: error.message };
  if (error instanceof TRPCError && error.cause instanceof SpecError)
    return { issues: error.cause.issues, message: error.cause.message };
  if (error instanceof TRPCClientError) {
    const issues = (error.data as { specIssues?: SpecIssue[] | null } | undefined)?.specIssues ?? null;
    return { issues, message: error.message };
  }
  return { issues: null, message: error instanceof Error ? error.message : String(error) };
}

export async function main(argv: string[]): Promise<number> {
  const config = {
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      server: { type: "string" },
      team: { type: "string" },
      yes: { type: "boolean", short: "y", default: false },
      "retry-failed": { type: "boolean", default: false },
      prune: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      once: { type: "boolean", default: false },
      follow: { type: "boolean", short: "f", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  } satisfies ParseArgsConfig;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    process.stderr.write(`scaleboard: ${(error as Error).message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const [command, target, ...extra] = parsed.positionals;
  if (parsed.values.help || !command) {
    out(USAGE);
    return parsed.values.help ? EXIT.ok : EXIT.usage;
  }
  if (!["plan", "apply", "status", "cancel", "logs"].includes(command) || extra.length) {
    process.stderr.write(
      `scaleboard: ${extra.length ? `unexpected argument "${extra[0]}"` : `unknown command "${command}"`}\n\n${USAGE}\n`,
    );
    return EXIT.usage;
  }
  const options: Options = {
    json: parsed.values.json,
    server: parsed.values.server,
    team: parsed.values.team,
    yes: parsed.values.yes,
    retryFailed: parsed.values["retry-failed"],
    prune: parsed.values.prune,
    force: parsed.values.force,
    once: parsed.values.once,
    follow: parsed.values.follow,
  };

  let backend: Backend | null = null;
  try {
    backend = await openBackend({ server: options.server, team: options.team });
    if (command === "plan" || command === "apply") return await planOrApply(backend, command, target, options);
    if (command === "status") await status(backend, target, options);
    else if (command === "cancel") await cancel(backend, target, options);
    else await logs(backend, target, options);
    return EXIT.ok;
  } catch (error) {
    const { issues, message } = issuesOf(error);
    if (options.json) process.stdout.write(`${toJson({ error: { message, issues } })}\n`);
    if (issues)
      process.stderr.write(
        `${formatIssues(issues, target ?? "spec")}\n${issues.length} problem(s) in the spec; nothing was changed.\n`,
      );
    else if (error instanceof EnvError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`scaleboard: ${message}\n`);
    return exitCodeOf(error);
  } finally {
    await backend?.close().catch(() => undefined);
  }
}

runCli(main, "scaleboard", EXIT.invalid);
