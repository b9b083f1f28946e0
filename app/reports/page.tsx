import type { Metadata } from "next";
import Link from "next/link";
import { ReportRow } from "~/app/_features/reports/report-row.tsx";
import { redirect } from "next/navigation";
import { getViewer } from "../_lib/viewer.ts";
import { EmptyState } from "../_ui/empty-state.tsx";
import { getQueryClient, trpc } from "../_trpc/server.tsx";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Reports" };

/** Projects read for this page: the most recently updated ones (the project list's own page size). */
const PROJECTS_SHOWN = 50;

/** Every report of the team's projects, grouped by project: where the top navigation's "Reports" leads. */
export default async function AllReportsPage() {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  if (!viewer.activeTeam) redirect("/");
  const queryClient = getQueryClient();
  const projects = await queryClient.fetchQuery(
    trpc.project.list.queryOptions({ teamId: viewer.activeTeam.id, limit: PROJECTS_SHOWN }),
  );
  const withReports = await Promise.all(
    projects.items.map(async (project) => ({
      project,
      reports: await queryClient.fetchQuery(trpc.report.list.queryOptions({ projectId: project.id })),
    })),
  );
  const without = withReports.filter((entry) => entry.reports.length === 0).map((entry) => entry.project);
  const shown = withReports.filter((entry) => entry.reports.length > 0);
  return (
    <div className="space-y-6" data-testid="all-reports">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Reports</h1>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
          {viewer.activeTeam.name}: notes, charts and fits over chosen runs, one page each to publish and share. A
          project&apos;s reports page writes a new one; so does &quot;Add to report&quot; on the compare page.
        </p>
      </div>
      {projects.items.length === 0 ? (
        <EmptyState title="No projects yet" testId="all-reports-empty">
          <p>Reports are written over a project&apos;s runs: apply a spec or log runs first.</p>
        </EmptyState>
      ) : null}
      {shown.map(({ project, reports }) => (
        <section key={project.id} aria-labelledby={`reports-${project.id}`} data-testid="project-reports">
          <div className="mb-2 flex flex-wrap items-baseline justify-between gap-2">
            <h2 id={`reports-${project.id}`} className="font-medium">
              {project.name}
            </h2>
            <Link
              href={`/projects/${project.id}/reports`}
              className="text-sm text-indigo-700 hover:underline dark:text-indigo-300"
            >
              All of {project.name}&apos;s reports
            </Link>
          </div>
          <ul className="divide-y divide-slate-200 rounded-xl border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
            {reports.map((report) => (
              <ReportRow key={report.id} report={report} projectId={project.id} testId="all-reports-link" />
            ))}
          </ul>
        </section>
      ))}
      {without.length > 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          No reports yet in{" "}
          {without.map((project, index) => (
            <span key={project.id}>
              {index > 0 ? ", " : ""}
              <Link
                href={`/projects/${project.id}/reports`}
                className="text-indigo-700 hover:underline dark:text-indigo-300"
              >
                {project.name}
              </Link>
            </span>
          ))}
          .
        </p>
      ) : null}
      {projects.nextCursor ? (
        <p className="text-xs text-slate-500 dark:text-slate-400">
          The {PROJECTS_SHOWN} most recently updated projects are listed; the others&apos; reports are on their project
          pages.
        </p>
      ) : null}
    </div>
  );
}
