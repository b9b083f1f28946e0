import { readFile } from "node:fs/promises";
import path from "node:path";
import { TRPCError } from "@trpc/server";
import { createPanel, describePanel, PANEL_DEFINITIONS } from "../domain/panels/panel-registry.ts";
import type { ReportPanel } from "../domain/report/report-schema.ts";
import { formatIssues, SpecError } from "../domain/spec/spec-issue.ts";
import { parseSpec } from "../domain/spec/parse-spec.ts";
import type { Spec } from "../domain/spec/spec-schema.ts";
import { EnvError, parseEnv } from "../env.ts";
import type { Backend } from "./backend.ts";
import { out, parseCommandLine } from "./command-line.ts";
import { toJson } from "./format.ts";
import { EXIT, exitCodeOf } from "./exit-codes.ts";
import { runCli } from "./run-cli.ts";

/**
 * `scaleboard report create --from-spec FILE`: a report on the spec's experiment, with the panels
 * the spec declares (or, without any, its metric's curves, the scaling fit and the config diff), over
 * all of the experiment's runs. Through the same tRPC procedures as the web app, locally or with --server.
 */

// The same codes as the other commands (server/cli/main.ts).

const USAGE = `Usage: scaleboard report create --from-spec FILE [options]

  --from-spec FILE          the spec whose experiment the report covers; its panels: become the report's
  --title T                 the report's title (default: "<experiment>: results")
  --publish live|frozen     publish it: live follows new data, frozen keeps today's
  --share                   publish (live unless --publish says otherwise) and print a read-only link
  --expires-in-hours N      the link stops working after N hours (default: never; revocable any time)
  --json                    machine-readable output
  --server URL              create it on a Scaleboard server (API key with full scope in SCALEBOARD_API_KEY)
  --team SLUG               the team, when you are in several

Panels (the spec's panels: entries):
${PANEL_DEFINITIONS.map((panel) => `  ${panel.kind.padEnd(24)}  ${panel.description}`).join("\n")}

Exit codes: 0 created, 1 invalid spec, experiment not found or refused, 2 usage, 4 unreachable`;

class ReportFailure extends Error {
  override name = "ReportFailure";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** What an experiment shows when its spec declares no panels (as on the experiment page), plus what differs between runs. */
function defaultPanels(spec: Spec): ReportPanel[] {
  return [
    createPanel("curves", spec.metric.name),
    createPanel("scaling", spec.metric.name),
    createPanel("config-diff", spec.metric.name),
  ];
}

function defaultBody(spec: Spec, runCount: number): string {
  const lines = [
    `Runs of **${spec.experiment}** in project **${spec.project}** (${runCount} run${runCount === 1 ? "" : "s"}).`,
  ];
  if (spec.description) lines.push("", spec.description);
  return lines.join("\n");
}

async function experimentRuns(backend: Backend, spec: Spec): Promise<{ projectId: string; runIds: string[] }> {
  const projects = await backend.api.project.list({ teamId: backend.teamId, limit: 100 });
  const project = projects.items.find((candidate) => candidate.name === spec.project);
  if (!project)
    throw new ReportFailure(
      `No project "${spec.project}" in this team: apply the spec first (scaleboard apply)`,
      EXIT.invalid,
    );
  const experiments = await backend.api.experiment.list({ projectId: project.id });
  const experiment = experiments.find((candidate) => candidate.name === spec.experiment);
  if (!experiment)
    throw new ReportFailure(
      `No experiment "${spec.experiment}" in project "${spec.project}": apply the spec first (scaleboard apply)`,
      EXIT.invalid,
    );
  const runIds: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; nextCursor: string | null } = await backend.api.run.list({
      experimentId: experiment.id,
      limit: 1000,
      cursor,
    });
    runIds.push(...page.items.map((run) => run.id));
    cursor = page.nextCursor;
  } while (cursor);
  return { projectId: project.id, runIds };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("report", USAGE, argv, {
    "from-spec": { type: "string" },
    title: { type: "string" },
    publish: { type: "string" },
    share: { type: "boolean", default: false },
    "expires-in-hours": { type: "string" },
  });
  if ("exit" in parsed) return parsed.exit;
  const { values, positionals, usageError: usage } = parsed;
  if (positionals[0] !== "create" || positionals.length > 1)
    return usage(
      positionals[0] ? `unknown subcommand "${positionals.slice(0, 2).join(" ")}"` : "say what to do: report create",
    );
  const file = values["from-spec"];
  if (!file) return usage("--from-spec FILE is required");
  if (values.publish !== undefined && values.publish !== "live" && values.publish !== "frozen")
    return usage(`--publish must be live or frozen, not "${values.publish}"`);
  const hoursText = values["expires-in-hours"];
  const expiresInHours = hoursText === undefined ? undefined : Number(hoursText);
  if (expiresInHours !== undefined && !(expiresInHours > 0))
    return usage(`--expires-in-hours must be a positive number, not "${hoursText}"`);
  if (expiresInHours !== undefined && !values.share) return usage("--expires-in-hours goes with --share");

  let backend: Backend | null = null;
  try {
    let source: string;
    try {
      source = await readFile(file, "utf8");
    } catch (error) {
      throw new ReportFailure(
        `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : messageOf(error)}`,
        EXIT.invalid,
      );
    }
    const { spec } = parseSpec(source, path.basename(file));
    // Loaded here: Prisma and tRPC take seconds to load, and a usage or spec error needs neither.
    const { openBackend } = await import("./backend.ts");
    backend = await openBackend({ server: values.server, team: values.team });
    const { projectId, runIds } = await experimentRuns(backend, spec);
    const panels = spec.panels.length > 0 ? spec.panels : defaultPanels(spec);
    const title = values.title ?? `${spec.experiment}: results`;
    const report = await backend.api.report.create({
      projectId,
      title,
      body: defaultBody(spec, runIds.length),
      panels,
      runIds: runIds.slice(0, 200),
    });
    const mode = (values.publish as "live" | "frozen" | undefined) ?? (values.share ? "live" : undefined);
    if (mode) await backend.api.report.publish({ reportId: report.id, mode });
    const link = values.share ? await backend.api.report.createLink({ reportId: report.id, expiresInHours }) : null;

    const base = (values.server ?? parseEnv().SCALEBOARD_PUBLIC_URL ?? `http://127.0.0.1:${parseEnv().PORT}`).replace(
      /\/$/,
      "",
    );
    const reportUrl = `${base}/projects/${projectId}/reports/${report.id}`;
    const shareUrl = link ? `${base}${link.path}` : null;
    if (values.json) {
      out(
        toJson({
          reportId: report.id,
          projectId,
          title,
          panels: panels.length,
          panelSummaries: panels.map(describePanel),
          runs: Math.min(runIds.length, 200),
          published: mode ?? null,
          url: reportUrl,
          shareUrl,
          expiresAt: link?.link.expiresAt ?? null,
        }),
      );
    } else {
      out(
        `Created report "${title}": ${panels.length} panel${panels.length === 1 ? "" : "s"} over ${Math.min(runIds.length, 200)} run${runIds.length === 1 ? "" : "s"}${runIds.length > 200 ? ` (the first 200 of ${runIds.length})` : ""}.`,
      );
      for (const panel of panels) out(`  ${describePanel(panel)}`);
      if (mode) out(`Published (${mode}).`);
      out(`Edit it at ${reportUrl}`);
      if (shareUrl) out(`Read-only link (shown once; anyone with it can read this report): ${shareUrl}`);
    }
    return EXIT.ok;
  } catch (error) {
    const issues =
      error instanceof SpecError
        ? error.issues
        : error instanceof TRPCError && error.cause instanceof SpecError
          ? error.cause.issues
          : null;
    if (values.json) out(toJson({ error: { message: messageOf(error), issues } }));
    if (issues)
      process.stderr.write(
        `${formatIssues(issues, file)}\n${issues.length} problem(s) in the spec; no report was created.\n`,
      );
    else if (error instanceof EnvError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`scaleboard report: ${messageOf(error)}\n`);
    return exitCodeOf(error);
  } finally {
    await backend?.close().catch(() => undefined);
  }
}

runCli(main, "scaleboard report", EXIT.invalid);
