import { HydrateClient, getQueryClient, trpc } from "../_trpc/server.tsx";
import { WorkerList } from "../_features/workers/worker-list.tsx";

export const dynamic = "force-dynamic";
export const metadata = { title: "Workers" };

export default async function WorkersPage() {
  await getQueryClient().prefetchQuery(trpc.health.status.queryOptions());
  return (
    <HydrateClient>
      <h1 className="text-2xl font-semibold tracking-tight">Workers</h1>
      <p className="mb-6 mt-1 text-sm text-slate-600 dark:text-slate-400">
        Processes that claim queued runs from the database and train them. Workers on other hosts that share the
        database appear here too.
      </p>
      <WorkerList />
    </HydrateClient>
  );
}
