import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { ExperimentList } from "../../_features/runs/experiment-list.tsx";
import { getViewer } from "../../_lib/viewer.ts";
import { HydrateClient, getQueryClient, trpc } from "../../_trpc/server.tsx";
import { ProjectMetricForm } from "./project-metric-form.tsx";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ projectId: string }> };

/** The project, or a 404 for one that does not exist or belongs to a team the viewer is not in. */
async function loadProject(projectId: string) {
  try {
    return await getQueryClient().fetchQuery(trpc.project.get.queryOptions({ projectId }));
  } catch (error) {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") notFound();
    throw error;
  }
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const viewer = await getViewer();
  if (!viewer.user) return { title: "Project" };
  const project = await loadProject((await params).projectId);
  return { title: project.name };
}

export default async function ProjectPage({ params }: Props) {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  const { projectId } = await params;
  const project = await loadProject(projectId);
  await getQueryClient().prefetchQuery(trpc.experiment.list.queryOptions({ projectId }));
  const role = viewer.teams.find((team) => team.id === project.teamId)?.role ?? null;
  return (
    <HydrateClient>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm">
        <Link
          href="/"
          className="rounded text-slate-600 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-400"
        >
          Projects
        </Link>
        <span aria-hidden className="mx-1 text-slate-400">
          /
        </span>
      </nav>
      <div className="mb-6 flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">{project.name}</h1>
          {project.description ? (
            <p className="mt-1 max-w-2xl text-sm text-slate-600 dark:text-slate-400">{project.description}</p>
          ) : null}
        </div>
        <div className="flex items-center gap-2">
          <Link
            href={`/projects/${project.id}/reports`}
            data-testid="project-reports-link"
            className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 transition-colors hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100 dark:hover:bg-slate-800"
          >
            Reports
          </Link>
          <Link
            href={`/editor?project=${encodeURIComponent(project.name)}`}
            className="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white transition-colors hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500"
          >
            New experiment
          </Link>
        </div>
      </div>
      <ProjectMetricForm projectId={project.id} canEdit={role === "editor" || role === "admin"} />
      <ExperimentList projectId={project.id} projectName={project.name} />
    </HydrateClient>
  );
}
