import { TRPCError } from "@trpc/server";
import { notFound, redirect } from "next/navigation";
import { getViewer } from "../../_lib/viewer.ts";
import { HydrateClient, getQueryClient, trpc } from "../../_trpc/server.tsx";
import { RunView } from "./run-view.tsx";

export const dynamic = "force-dynamic";
export const metadata = { title: "Run" };

export default async function RunPage({ params }: { params: Promise<{ runId: string }> }) {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  const { runId } = await params;
  try {
    // The run's identity (name, experiment, sizes) and its first log lines; a 404 for a run that does not exist.
    await Promise.all([
      getQueryClient().fetchQuery(trpc.scaling.compare.queryOptions({ runIds: [runId], resamples: 0 })),
      getQueryClient().prefetchQuery(trpc.metrics.keys.queryOptions({ runIds: [runId] })),
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
