import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { getViewer } from "~/app/_lib/viewer.ts";
import { HydrateClient, getQueryClient, trpc } from "~/app/_trpc/server.tsx";
import { env } from "~/server/env.ts";
import { ReportWorkspace } from "./report-workspace.tsx";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ projectId: string; reportId: string }> };

async function loadReport(reportId: string) {
  try {
    return await getQueryClient().fetchQuery(trpc.report.get.queryOptions({ reportId }));
  } catch (error) {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") notFound();
    throw error;
  }
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const viewer = await getViewer();
  if (!viewer.user) return { title: "Report" };
  const { report } = await loadReport((await params).reportId);
  return { title: report.title };
}

export default async function ReportPage({ params }: Props) {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  const { projectId, reportId } = await params;
  const { report } = await loadReport(reportId);
  // A report id reached through another project's URL is still that report's: send the reader to its own.
  if (report.projectId !== projectId) redirect(`/projects/${report.projectId}/reports/${reportId}`);
  const project = await getQueryClient().fetchQuery(trpc.project.get.queryOptions({ projectId }));
  const role = viewer.teams.find((team) => team.id === project.teamId)?.role ?? null;
  return (
    <HydrateClient>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm print:hidden">
        <Link
          href={`/projects/${projectId}`}
          className="rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400"
        >
          {project.name}
        </Link>
        <span aria-hidden className="mx-1 text-slate-400">
          /
        </span>
        <Link
          href={`/projects/${projectId}/reports`}
          className="rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400"
        >
          Reports
        </Link>
      </nav>
      <ReportWorkspace
        projectId={projectId}
        reportId={reportId}
        canEdit={role === "editor" || role === "admin"}
        sharing={{ publicUrl: env().SCALEBOARD_PUBLIC_URL ?? null, localMode: viewer.authMode === "off" }}
      />
    </HydrateClient>
  );
}
