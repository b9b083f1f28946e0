import { TRPCError } from "@trpc/server";
import type { Metadata } from "next";
import { notFound, redirect } from "next/navigation";
// Parsing happens here, on the server: the browser gets the resolved panels, never the YAML to parse.
import { parseSpec } from "~/server/domain/spec/parse-spec.ts";
import { paramsFromRecord, runsTableInput } from "../../_features/runs/runs-table-state.tsx";
import { getViewer } from "../../_lib/viewer.ts";
import { HydrateClient, getQueryClient, trpc } from "../../_trpc/server.tsx";
import { DEFAULT_PANELS, type ExperimentPanel } from "./panels.ts";
import { ExperimentView } from "./experiment-view.tsx";

export const dynamic = "force-dynamic";

type Props = {
  params: Promise<{ experimentId: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

/** The latest spec version, null when the experiment has none (runs imported or logged from outside); a 404 when it does not exist. */
async function loadSpec(experimentId: string) {
  try {
    return await getQueryClient().fetchQuery(trpc.spec.get.queryOptions({ experimentId }));
  } catch (error) {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") {
      if (error.message === "Experiment not found") notFound();
      return null;
    }
    throw error;
  }
}

/** Existence and access for an experiment without a spec: the runs list answers NOT_FOUND for both. */
async function assertExperimentReadable(experimentId: string) {
  try {
    await getQueryClient().fetchQuery(trpc.run.list.queryOptions({ experimentId, limit: 1 }));
  } catch (error) {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") notFound();
    throw error;
  }
}

function resolvedSpec(
  source: string,
  format: string,
): { panels: ExperimentPanel[]; metric: { name: string; goal: "min" | "max" } } | null {
  try {
    const { spec } = parseSpec(source, format === "json" ? "spec.json" : "spec.yaml");
    return { panels: spec.panels, metric: spec.metric };
  } catch {
    // A stored version that no longer parses (the schema moved on) still gets the default panels.
    return null;
  }
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const viewer = await getViewer();
  if (!viewer.user) return { title: "Experiment" };
  const spec = await loadSpec((await params).experimentId);
  return { title: spec ? `${spec.experiment.name} · ${spec.experiment.project.name}` : "Experiment" };
}

export default async function ExperimentPage({ params, searchParams }: Props) {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  const { experimentId } = await params;
  const spec = await loadSpec(experimentId);
  if (!spec) await assertExperimentReadable(experimentId);

  const resolved = spec ? resolvedSpec(spec.source, spec.format) : null;
  // The spec's metric when it names one, else the project's setting, else val/loss.
  const { name, goal } = await getQueryClient().fetchQuery(trpc.experiment.metric.queryOptions({ experimentId }));
  const metric = { name, goal };
  const panels = resolved && resolved.panels.length > 0 ? resolved.panels : DEFAULT_PANELS(metric.name);
  const teamId = spec?.experiment.project.teamId ?? null;
  const role = viewer.teams.find((team) => team.id === teamId)?.role ?? null;

  const queryClient = getQueryClient();
  const tableInput = runsTableInput([experimentId], paramsFromRecord(await searchParams), {
    metric: metric.name,
    metricGoal: metric.goal,
  });
  await Promise.all([
    spec
      ? queryClient.prefetchQuery(trpc.experiment.list.queryOptions({ projectId: spec.experiment.projectId }))
      : null,
    queryClient.prefetchInfiniteQuery(
      trpc.runsTable.list.infiniteQueryOptions(tableInput, {
        getNextPageParam: (page) => page.nextCursor ?? undefined,
      }),
    ),
  ]);

  return (
    <HydrateClient>
      <ExperimentView
        experimentId={experimentId}
        project={spec ? { id: spec.experiment.projectId, name: spec.experiment.project.name } : null}
        experimentName={spec?.experiment.name ?? null}
        specVersion={spec?.version ?? null}
        canEdit={role === "editor" || role === "admin"}
        panels={panels}
        metric={metric}
      />
    </HydrateClient>
  );
}
