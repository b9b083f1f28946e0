import Link from "next/link";
import type { ReactNode } from "react";
import { getViewer } from "../../_lib/viewer.ts";
import { HealthBadge } from "../workers/health-badge.tsx";
import { NavLink } from "../../_ui/nav-link.tsx";
import { TeamSwitcher } from "../team/team-switcher.tsx";
import { ThemeToggle } from "../../_ui/theme-toggle.tsx";
import { ShellFrame } from "./shell-frame.tsx";
import { UserMenu } from "./user-menu.tsx";

export async function AppShell({ children }: { children: ReactNode }) {
  const viewer = await getViewer();
  const signedIn = Boolean(viewer.user);
  return (
    <ShellFrame
      banner={
        viewer.authMode === "off" ? (
          <div
            role="note"
            data-testid="local-mode-banner"
            className="bg-amber-100 px-4 py-1.5 text-center text-xs text-amber-900 dark:bg-amber-900/40 dark:text-amber-100"
          >
            Local single-user mode: no sign-in, you are the local admin, and Scaleboard listens on 127.0.0.1 only. Set
            <code className="mx-1 font-mono">SCALEBOARD_AUTH=on</code>to share it with a team.
          </div>
        ) : null
      }
      header={
        <header className="border-b border-slate-200 bg-white/80 backdrop-blur dark:border-slate-800 dark:bg-slate-900/80">
          {/* At phone width the nav takes a second row instead of pushing the controls off screen. */}
          <div className="mx-auto flex min-h-14 max-w-7xl flex-wrap items-center gap-x-4 gap-y-1 px-4 py-2">
            <Link href="/" className="flex items-center gap-2 font-semibold tracking-tight">
              <svg aria-hidden viewBox="0 0 32 32" className="h-6 w-6">
                <rect width="32" height="32" rx="6" fill="#4f46e5" />
                <path
                  d="M6 25 L13 16 L18 20 L26 7"
                  stroke="#fff"
                  strokeWidth="3"
                  fill="none"
                  strokeLinecap="round"
                  strokeLinejoin="round"
                />
              </svg>
              <span className="hidden sm:inline">Scaleboard</span>
            </Link>
            {signedIn && viewer.teams.length > 0 ? (
              <TeamSwitcher teams={viewer.teams} activeTeamId={viewer.activeTeam?.id ?? null} />
            ) : null}
            {signedIn ? (
              <nav
                aria-label="Main"
                className="order-last -mx-2 flex w-full items-center gap-1 text-sm sm:order-none sm:mx-0 sm:w-auto"
              >
                <NavLink href="/">Projects</NavLink>
                <NavLink href="/reports">Reports</NavLink>
                <NavLink href="/workers">Workers</NavLink>
                <NavLink href="/settings">Team</NavLink>
              </nav>
            ) : null}
            <div className="ml-auto flex items-center gap-2 sm:gap-3">
              <HealthBadge />
              <ThemeToggle />
              {viewer.user && viewer.authMode === "on" ? (
                <UserMenu name={viewer.user.name} email={viewer.user.email} />
              ) : null}
            </div>
          </div>
        </header>
      }
      footer={
        <footer className="border-t border-slate-200 py-4 text-center text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
          Scaleboard · self-hosted experiment tracking for model-size studies
        </footer>
      }
    >
      {children}
    </ShellFrame>
  );
}
