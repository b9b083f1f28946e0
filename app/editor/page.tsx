import { redirect } from "next/navigation";
import { CreateTeamForm } from "../_features/team/create-team-form.tsx";
import { EmptyState } from "../_ui/empty-state.tsx";
import { SpecEditor } from "../_features/specs/spec-editor.tsx";
import { getViewer } from "../_lib/viewer.ts";
import { HydrateClient, getQueryClient, trpc } from "../_trpc/server.tsx";

export const dynamic = "force-dynamic";
export const metadata = { title: "Spec editor" };

function single(value: string | string[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  return first ? first : null;
}

export default async function EditorPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  if (!viewer.activeTeam) {
    return (
      <EmptyState title="You are not in a team yet" testId="no-team">
        <p>Specs are planned and applied in a team. Ask a team admin for an invite link, or create your own team.</p>
        <CreateTeamForm />
      </EmptyState>
    );
  }
  const params = await searchParams;
  const experimentId = single(params.experiment);
  const projectName = single(params.project);
  if (experimentId) {
    const queryClient = getQueryClient();
    await Promise.all([
      queryClient.prefetchQuery(trpc.spec.get.queryOptions({ experimentId })),
      queryClient.prefetchQuery(trpc.spec.versions.queryOptions({ experimentId })),
    ]);
  }
  const { id, name, role } = viewer.activeTeam;
  return (
    <HydrateClient>
      <SpecEditor
        teamId={id}
        teamName={name}
        canApply={role === "editor" || role === "admin"}
        experimentId={experimentId}
        projectName={projectName}
      />
    </HydrateClient>
  );
}
