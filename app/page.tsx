import Link from "next/link";
import { redirect } from "next/navigation";
import { CreateTeamForm } from "./_features/team/create-team-form.tsx";
import { EmptyState } from "./_ui/empty-state.tsx";
import { ProjectList } from "./_features/runs/project-list.tsx";
import { getViewer } from "./_lib/viewer.ts";
import { HydrateClient, getQueryClient, trpc } from "./_trpc/server.tsx";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  if (!viewer.activeTeam) {
    return (
      <EmptyState title="You are not in a team yet" testId="no-team">
        <p>Ask a team admin for an invite link, or create your own team and invite others.</p>
        <CreateTeamForm />
      </EmptyState>
    );
  }
  const teamId = viewer.activeTeam.id;
  const queryClient = getQueryClient();
  await Promise.all([
    queryClient.prefetchQuery(trpc.project.list.queryOptions({ teamId, limit: 50 })),
    queryClient.prefetchQuery(trpc.health.status.queryOptions()),
  ]);
  const canEdit = viewer.activeTeam.role === "editor" || viewer.activeTeam.role === "admin";
  return (
    <HydrateClient>
      <div className="mb-6 flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Projects</h1>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
            {viewer.activeTeam.name}: each project groups experiments, a spec with its sweep and the runs it queued.
          </p>
        </div>
        <Link
          href="/editor"
          className="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500"
        >
          New experiment
        </Link>
      </div>
      <ProjectList teamId={teamId} canEdit={canEdit} />
    </HydrateClient>
  );
}
