import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import { headers } from "next/headers";
import { notFound } from "next/navigation";
import { cache } from "react";
import { createRequestContext } from "~/server/api/request-context.ts";
import { createCaller } from "~/server/api/root.ts";
import { ReportDocument } from "../../_features/reports/report-document.tsx";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ token: string }> };

/** The one report this token opens, or a 404 (unknown, expired, revoked and unpublished alike). */
const loadSharedReport = cache(async (token: string) => {
  const caller = createCaller(await createRequestContext(new Headers(await headers()), "GET"));
  try {
    return await caller.sharedReport.view({ token });
  } catch (error) {
    if (error instanceof TRPCError && (error.code === "NOT_FOUND" || error.code === "BAD_REQUEST")) notFound();
    throw error;
  }
});

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const view = await loadSharedReport((await params).token);
  // The URL is the credential: keep it out of search engines and out of Referer headers.
  return { title: view.title, robots: { index: false, follow: false }, referrer: "no-referrer" };
}

export default async function SharedReportPage({ params }: Props) {
  const view = await loadSharedReport((await params).token);
  return (
    <div className="mx-auto max-w-6xl">
      <p className="mb-4 text-xs text-slate-500 print:hidden dark:text-slate-400" data-testid="shared-report-note">
        A read-only report shared from Scaleboard.
      </p>
      <ReportDocument view={view} />
    </div>
  );
}
