import { z } from "zod";
import { resolveReportAccess } from "../../domain/access/resource-access.ts";
import {
  createReport,
  deleteReport,
  getReportRow,
  listReportCandidates,
  listReports,
  previewPanels,
  publishReport,
  readReportView,
  unpublishReport,
  updateReport,
} from "../../domain/report/manage-reports.ts";
import { ZCreateReportInput, ZPanelsPreviewInput, ZUpdateReportInput } from "../../domain/report/report-schema.ts";
import {
  createShareLink,
  listShareLinks,
  openSharedReport,
  revokeShareLink,
  ZCreateShareLinkInput,
} from "../../domain/report/share-links.ts";
import {
  actingUserId,
  authedProcedure,
  projectProcedure,
  publicProcedure,
  router,
  type ProcedureAccess,
} from "../trpc.ts";

/** Procedures on one report, checked through its project's team; other teams' reports do not exist. */
function reportProcedure(access: ProcedureAccess) {
  return authedProcedure.input(z.object({ reportId: z.string().min(1).max(100) })).use(async ({ ctx, input, next }) => {
    const report = await resolveReportAccess(ctx.db, ctx.actor, input.reportId, access.role, access.keyScopes);
    return next({ ctx: { project: report, reportId: input.reportId } });
  });
}

export const reportRouter = router({
  list: projectProcedure({ role: "viewer" }).query(({ ctx }) => listReports(ctx.db, ctx.project.projectId)),
  candidates: projectProcedure({ role: "viewer" }).query(({ ctx }) =>
    listReportCandidates(ctx.db, ctx.project.projectId),
  ),
  preview: projectProcedure({ role: "viewer" })
    .input(ZPanelsPreviewInput)
    .query(({ ctx, input }) =>
      previewPanels(ctx.db, ctx.project.projectId, { panels: input.panels, runIds: input.runIds }),
    ),
  create: projectProcedure({ role: "editor" })
    .input(ZCreateReportInput)
    .mutation(({ ctx, input }) =>
      createReport(ctx.db, ctx.project.projectId, actingUserId(ctx.actor), {
        title: input.title,
        body: input.body,
        panels: input.panels,
        runIds: input.runIds,
      }),
    ),
  get: reportProcedure({ role: "viewer" }).query(async ({ ctx }) => {
    const report = await getReportRow(ctx.db, ctx.project.projectId, ctx.reportId);
    return { report, view: await readReportView(ctx.db, ctx.reportId) };
  }),
  update: reportProcedure({ role: "editor" })
    .input(ZUpdateReportInput)
    .mutation(({ ctx, input }) =>
      updateReport(ctx.db, ctx.project.projectId, ctx.reportId, {
        title: input.title,
        body: input.body,
        panels: input.panels,
        runIds: input.runIds,
      }),
    ),
  delete: reportProcedure({ role: "editor" }).mutation(({ ctx }) =>
    deleteReport(ctx.db, ctx.project.projectId, ctx.reportId),
  ),
  publish: reportProcedure({ role: "editor" })
    .input(z.object({ mode: z.enum(["live", "frozen"]) }))
    .mutation(({ ctx, input }) => publishReport(ctx.db, ctx.project.projectId, ctx.reportId, input.mode)),
  unpublish: reportProcedure({ role: "editor" }).mutation(({ ctx }) =>
    unpublishReport(ctx.db, ctx.project.projectId, ctx.reportId),
  ),
  createLink: reportProcedure({ role: "editor" })
    .input(ZCreateShareLinkInput)
    .mutation(({ ctx, input }) =>
      createShareLink(ctx.db, ctx.reportId, actingUserId(ctx.actor), { expiresInHours: input.expiresInHours }),
    ),
  links: reportProcedure({ role: "editor" }).query(({ ctx }) => listShareLinks(ctx.db, ctx.reportId)),
  revokeLink: reportProcedure({ role: "editor" })
    .input(z.object({ linkId: z.string().min(1).max(100) }))
    .mutation(({ ctx, input }) => revokeShareLink(ctx.db, ctx.reportId, input.linkId)),
});

/** The only procedure a share-link holder can use: the token names one report, and only it comes back. */
export const sharedReportRouter = router({
  view: publicProcedure
    .input(z.object({ token: z.string().max(200) }))
    .query(({ ctx, input }) => openSharedReport(ctx.db, input.token)),
});
