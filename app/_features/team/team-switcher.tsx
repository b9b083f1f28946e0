"use client";

import { useRouter } from "next/navigation";
import { rememberTeam } from "./team-cookie.ts";

type Team = { id: string; name: string; role: string | null };

export function TeamSwitcher({ teams, activeTeamId }: { teams: Team[]; activeTeamId: string | null }) {
  const router = useRouter();
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="sr-only">Team</span>
      <select
        data-testid="team-switcher"
        value={activeTeamId ?? ""}
        onChange={async (event) => {
          await rememberTeam(event.target.value);
          router.refresh();
        }}
        className="max-w-40 truncate rounded-md border border-slate-300 bg-white px-2 py-1 text-sm sm:max-w-56 dark:border-slate-700 dark:bg-slate-900"
      >
        {teams.map((team) => (
          <option key={team.id} value={team.id}>
            {team.name}
            {team.role ? ` (${team.role})` : ""}
          </option>
        ))}
      </select>
    </label>
  );
}
