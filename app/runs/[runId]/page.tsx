import { TRPCError } from "@trpc/server";
import { notFound, redirect } from "next/navigation";
import { getViewer } from "../../_lib/viewer.ts";
import { HydrateClient, getQueryClient, trpc } from "../../_trpc/server.tsx";
import { runPageKeysInput } from "./run-page-limits.ts";
import { RunView } from "./run-view.tsx";

export const dynamic = "force-dynamic";
export const metadata = { title: "Run" };

export default async function RunPage({ params }: { params: Promise<{ runId: string }> }) {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  const { runId } = await params;
  try {
    // The run itself and its first metric names (paged: a run may log a thousand); a 404 for a run that does not exist (or another team's).
    await Promise.all([
      getQueryClient().fetchQuery(trpc.run.get.queryOptions({ runId })),
      getQueryClient().prefetchQuery(trpc.metrics.keys.queryOptions(runPageKeysInput(runId))),
    ]);
  } catch (error) {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") notFound();
    throw error;
  }
  return (
    <HydrateClient>
      <RunView runId={runId} />
    </HydrateClient>
  );
}
