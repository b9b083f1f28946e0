import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { getViewer } from "~/app/_lib/viewer.ts";
import { HydrateClient, getQueryClient, trpc } from "~/app/_trpc/server.tsx";
import { ReportList } from "./report-list.tsx";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Reports" };

type Props = { params: Promise<{ projectId: string }> };

export default async function ReportsPage({ params }: Props) {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  const { projectId } = await params;
  const project = await getQueryClient()
    .fetchQuery(trpc.project.get.queryOptions({ projectId }))
    .catch((error: unknown) => {
      if (error instanceof TRPCError && error.code === "NOT_FOUND") notFound();
      throw error;
    });
  await getQueryClient().prefetchQuery(trpc.report.list.queryOptions({ projectId }));
  const role = viewer.teams.find((team) => team.id === project.teamId)?.role ?? null;
  return (
    <HydrateClient>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <Link
          href={`/projects/${projectId}`}
          className="rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400"
        >
          {project.name}
        </Link>
        <span aria-hidden className="mx-1 text-slate-400">
          /
        </span>
      </nav>
      <h1 className="mb-6 text-2xl font-semibold tracking-tight">Reports</h1>
      <ReportList projectId={projectId} canEdit={role === "editor" || role === "admin"} />
    </HydrateClient>
  );
}
