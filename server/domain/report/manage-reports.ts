import type { Db } from "../../db.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { AppError } from "../app-error.ts";
import { readLiveReportView, readPanelViews } from "./read-report-view.ts";
import { parseReportSnapshot } from "./report-snapshot.ts";
import {
  ZCreateReportInput,
  ZPanelsPreviewInput,
  ZReportPanels,
  ZUpdateReportInput,
  type CreateReportInput,
  type ReportPanel,
  type ReportView,
  type UpdateReportInput,
} from "./report-schema.ts";

export const reportSelect = {
  id: true,
  projectId: true,
  title: true,
  body: true,
  panels: true,
  runIds: true,
  frozen: true,
  publishedAt: true,
  createdAt: true,
  updatedAt: true,
  createdBy: { select: { name: true } },
} satisfies Prisma.ReportSelect;

type ReportRow = Prisma.ReportGetPayload<{ select: typeof reportSelect }>;

export type ReportSummary = Omit<ReportRow, "panels" | "createdBy"> & {
  panels: ReportPanel[];
  createdByName: string | null;
};

function summarize(row: ReportRow): ReportSummary {
  const { createdBy, panels, ...rest } = row;
  const parsed = ZReportPanels.safeParse(panels);
  return { ...rest, panels: parsed.success ? parsed.data : [], createdByName: createdBy?.name ?? null };
}

/** Every id must name a run of this project; anything else (another team's run, a typo) is refused by its position. */
async function assertProjectRuns(db: Db, projectId: string, runIds: readonly string[]): Promise<void> {
  const unique = [...new Set(runIds)];
  if (unique.length === 0) return;
  const found = await db.run.findMany({
    where: { id: { in: unique }, experiment: { projectId } },
    select: { id: true },
  });
  const known = new Set(found.map((run) => run.id));
  const index = runIds.findIndex((id) => !known.has(id));
  if (index >= 0) throw new AppError("INVALID_INPUT", `runIds[${index}]: no run "${runIds[index]}" in this project`);
}

/** A report of this project, or NOT_FOUND (the same answer for another project's report). */
export async function getReportRow(db: Db, projectId: string, reportId: string): Promise<ReportSummary> {
  const row = await db.report.findFirst({ where: { id: reportId, projectId }, select: reportSelect });
  if (!row) throw new AppError("NOT_FOUND", "Report not found");
  return summarize(row);
}

export async function listReports(db: Db, projectId: string): Promise<ReportSummary[]> {
  const rows = await db.report.findMany({
    where: { projectId },
    select: reportSelect,
    orderBy: [{ updatedAt: "desc" }, { id: "desc" }],
    take: 200,
  });
  return rows.map(summarize);
}

export async function createReport(
  db: Db,
  projectId: string,
  userId: string | null,
  input: CreateReportInput,
): Promise<ReportSummary> {
  const content = ZCreateReportInput.parse(input);
  await assertProjectRuns(db, projectId, content.runIds);
  const row = await db.report.create({
    data: {
      projectId,
      createdById: userId,
      title: content.title,
      body: content.body,
      panels: content.panels,
      runIds: [...new Set(content.runIds)],
    },
    select: reportSelect,
  });
  return summarize(row);
}

/** Edits the draft. A frozen, published report keeps showing its snapshot until it is published again. */
export async function updateReport(
  db: Db,
  projectId: string,
  reportId: string,
  input: UpdateReportInput,
): Promise<ReportSummary> {
  const patch = ZUpdateReportInput.parse(input);
  await getReportRow(db, projectId, reportId);
  if (patch.runIds) await assertProjectRuns(db, projectId, patch.runIds);
  const row = await db.report.update({
    where: { id: reportId },
    data: {
      title: patch.title,
      body: patch.body,
      panels: patch.panels,
      runIds: patch.runIds ? [...new Set(patch.runIds)] : undefined,
    },
    select: reportSelect,
  });
  return summarize(row);
}

export async function deleteReport(db: Db, projectId: string, reportId: string): Promise<{ deleted: true }> {
  await getReportRow(db, projectId, reportId);
  await db.report.delete({ where: { id: reportId } });
  return { deleted: true };
}

/**
 * Publishing makes the report readable through its share links. Live: readers see current data.
 * Frozen: the data of every panel is read now and stored, so later runs or deletions change nothing.
 */
export async function publishReport(
  db: Db,
  projectId: string,
  reportId: string,
  mode: "live" | "frozen",
): Promise<ReportSummary> {
  const report = await getReportRow(db, projectId, reportId);
  const publishedAt = new Date();
  const frozen = mode === "frozen";
  const snapshot = frozen ? await readLiveReportView(db, { ...report, frozen, publishedAt }) : null;
  const row = await db.report.update({
    where: { id: reportId },
    // ReportView is JSON-safe by construction (read-report-view.ts); Prisma cannot see that through its types.
    // updatedAt = publishedAt: the page tells editors when the draft has changed since (updatedAt > publishedAt).
    data: {
      frozen,
      publishedAt,
      updatedAt: publishedAt,
      snapshot: snapshot ? (snapshot as Prisma.InputJsonObject) : Prisma.DbNull,
    },
    select: reportSelect,
  });
  return summarize(row);
}

/** Back to a draft: share links stop working (they are kept, and work again once it is republished). */
export async function unpublishReport(db: Db, projectId: string, reportId: string): Promise<ReportSummary> {
  await getReportRow(db, projectId, reportId);
  const row = await db.report.update({
    where: { id: reportId },
    data: { publishedAt: null, frozen: false, snapshot: Prisma.DbNull },
    select: reportSelect,
  });
  return summarize(row);
}

/** What readers of this report see: the stored snapshot when it is frozen and published, else current data. */
export async function readReportView(db: Db, reportId: string): Promise<ReportView> {
  const row = await db.report.findUnique({ where: { id: reportId }, select: { ...reportSelect, snapshot: true } });
  if (!row) throw new AppError("NOT_FOUND", "Report not found");
  if (row.frozen && row.publishedAt && row.snapshot) return parseReportSnapshot(row.snapshot);
  return readLiveReportView(db, summarize(row));
}

/** The editor's live preview: panels over runs, read now, before anything is saved. */
export async function previewPanels(db: Db, projectId: string, input: unknown) {
  const content = ZPanelsPreviewInput.parse(input);
  await assertProjectRuns(db, projectId, content.runIds);
  return readPanelViews(db, projectId, content);
}

/** Runs an editor can put in a report: the project's, newest first. */
export async function listReportCandidates(db: Db, projectId: string) {
  const runs = await db.run.findMany({
    where: { experiment: { projectId } },
    select: { id: true, name: true, status: true, experiment: { select: { name: true } } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: 1000,
  });
  return runs.map((run) => ({ id: run.id, name: run.name, status: run.status, experiment: run.experiment.name }));
}
