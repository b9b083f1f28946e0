import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { AppError } from "../app-error.ts";
import { readReportView } from "./manage-reports.ts";
import type { ReportView } from "./report-schema.ts";

/** 32 random bytes (256 bits), base64url: 43 characters. Only its SHA-256 is stored. */
const TOKEN_BYTES = 32;
const ZShareToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export const ZCreateShareLinkInput = z.object({
  /** Hours until the link stops working; none: until it is revoked. */
  expiresInHours: z
    .number()
    .positive("expiresInHours must be positive")
    .max(24 * 365 * 10, "expiresInHours is more than ten years")
    .optional(),
});

export const shareLinkSelect = {
  id: true,
  expiresAt: true,
  revokedAt: true,
  lastViewedAt: true,
  createdAt: true,
} satisfies Prisma.ShareLinkSelect;
export type ShareLinkSummary = Prisma.ShareLinkGetPayload<{ select: typeof shareLinkSelect }>;

export function hashShareToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A new link to a report; the token comes back once, here, and is never readable again. */
export async function createShareLink(
  db: Db,
  reportId: string,
  userId: string | null,
  input: z.input<typeof ZCreateShareLinkInput>,
): Promise<{ link: ShareLinkSummary; token: string; path: string }> {
  const { expiresInHours } = ZCreateShareLinkInput.parse(input);
  const report = await db.report.findUnique({ where: { id: reportId }, select: { publishedAt: true } });
  if (!report) throw new AppError("NOT_FOUND", "Report not found");
  if (!report.publishedAt) throw new AppError("INVALID_INPUT", "Publish the report before sharing it");
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  const expiresAt = expiresInHours === undefined ? null : new Date(Date.now() + expiresInHours * 3_600_000);
  const link = await db.shareLink.create({
    data: { reportId, createdById: userId, tokenHash: hashShareToken(token), expiresAt },
    select: shareLinkSelect,
  });
  return { link, token, path: `/r/${token}` };
}

export async function listShareLinks(db: Db, reportId: string): Promise<ShareLinkSummary[]> {
  return db.shareLink.findMany({
    where: { reportId },
    select: shareLinkSelect,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
  });
}

export async function revokeShareLink(db: Db, reportId: string, linkId: string): Promise<ShareLinkSummary> {
  const link = await db.shareLink.findFirst({ where: { id: linkId, reportId }, select: { id: true, revokedAt: true } });
  if (!link) throw new AppError("NOT_FOUND", "Share link not found");
  return db.shareLink.update({
    where: { id: link.id },
    data: { revokedAt: link.revokedAt ?? new Date() },
    select: shareLinkSelect,
  });
}

/** One answer for every link that does not open a report: unknown, revoked, expired, or its report unpublished. */
const NO_REPORT = "This report link does not exist, has expired or was revoked";

/**
 * What a link holder reads: only this report's view (title, body, panels, the runs they show).
 * Nothing here leads to the project, its other runs or the API.
 */
export async function openSharedReport(db: Db, token: string, now = new Date()): Promise<ReportView> {
  if (!ZShareToken.safeParse(token).success) throw new AppError("NOT_FOUND", NO_REPORT);
  const link = await db.shareLink.findUnique({
    where: { tokenHash: hashShareToken(token) },
    select: { id: true, reportId: true, expiresAt: true, revokedAt: true, report: { select: { publishedAt: true } } },
  });
  if (!link || link.revokedAt || (link.expiresAt && link.expiresAt <= now) || !link.report.publishedAt)
    throw new AppError("NOT_FOUND", NO_REPORT);
  await db.shareLink.update({ where: { id: link.id }, data: { lastViewedAt: now }, select: { id: true } });
  return readReportView(db, link.reportId);
}
