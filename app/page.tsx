import { HydrateClient, getQueryClient, trpc } from "./_trpc/server.tsx";
import { ProjectList } from "./_components/project-list.tsx";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  const queryClient = getQueryClient();
  await Promise.all([
    queryClient.prefetchQuery(trpc.project.list.queryOptions({ limit: 50 })),
    queryClient.prefetchQuery(trpc.health.status.queryOptions()),
  ]);
  return (
    <HydrateClient>
      <div className="mb-6 flex items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Projects</h1>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
            Each project groups experiments: a spec, its sweep, and the runs it queued.
          </p>
        </div>
      </div>
      <ProjectList />
    </HydrateClient>
  );
}
