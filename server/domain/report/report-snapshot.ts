import { z } from "zod";
import { ZPanelView } from "../panels/panel-registry.ts";
import { AppError } from "../app-error.ts";
import type { ReportView } from "./report-schema.ts";

/**
 * A frozen report's stored snapshot: the ReportView it showed when published, read back through
 * this schema. Snapshots stored before the field existed have no `version` and are version 1. A
 * change to the shape of ReportView gets a new version here and a reader for the old ones.
 */
export const REPORT_SNAPSHOT_VERSION = 1;

const ZReportSnapshotV1 = z.object({
  version: z.literal(1).default(1),
  title: z.string(),
  body: z.string(),
  frozen: z.boolean(),
  capturedAt: z.string(),
  publishedAt: z.string().nullable(),
  runs: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      status: z.string(),
      params: z.record(z.string(), z.unknown()),
      config: z.unknown(),
      paramCount: z.number().nullable(),
      totalFlops: z.number().nullable(),
      wallClockSeconds: z.number().nullable(),
      metrics: z.record(z.string(), z.object({ final: z.number().nullable(), best: z.number().nullable() })),
    }),
  ),
  missingRunCount: z.number(),
  // Each kind's stored view is its definition's (server/domain/panels/): a new kind extends version 1,
  // a changed shape of an existing kind needs version 2 and this version's schema kept here to read the old ones.
  panels: z.array(ZPanelView),
});

/** A frozen report's stored snapshot as a ReportView; an unknown version or a damaged snapshot is refused with what is wrong. */
export function parseReportSnapshot(stored: unknown): ReportView {
  const version = stored && typeof stored === "object" && "version" in stored ? stored.version : 1;
  if (version !== REPORT_SNAPSHOT_VERSION) {
    throw new AppError(
      "CONFLICT",
      `This report's frozen snapshot is version ${JSON.stringify(version)}, which this version of Scaleboard cannot read (it reads version ${REPORT_SNAPSHOT_VERSION}); an editor can publish the report again to freeze it anew`,
    );
  }
  const parsed = ZReportSnapshotV1.safeParse(stored);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError(
      "CONFLICT",
      `This report's frozen snapshot is damaged (${issue ? `${issue.path.join(".")}: ${issue.message}` : "unreadable"}); an editor can publish the report again to freeze it anew`,
    );
  }
  return parsed.data;
}
