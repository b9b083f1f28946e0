import { redirect } from "next/navigation";
import { CreateTeamForm } from "../_features/team/create-team-form.tsx";
import { TeamSettings } from "../_features/team/team-settings.tsx";
import { Card } from "../_ui/ui.tsx";
import { getViewer } from "../_lib/viewer.ts";

export const dynamic = "force-dynamic";
export const metadata = { title: "Team" };

export default async function SettingsPage() {
  const viewer = await getViewer();
  if (!viewer.user) redirect("/sign-in");
  return (
    <div className="space-y-6">
      {viewer.activeTeam ? (
        <TeamSettings
          teamId={viewer.activeTeam.id}
          teamName={viewer.activeTeam.name}
          role={viewer.activeTeam.role ?? "viewer"}
          currentUserId={viewer.user.id}
        />
      ) : null}
      <Card title="Create another team">
        <CreateTeamForm />
      </Card>
    </div>
  );
}
