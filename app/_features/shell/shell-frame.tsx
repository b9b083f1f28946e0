"use client";

import { usePathname } from "next/navigation";
import type { ReactNode } from "react";

/** Pages a share link opens: a reader there sees the report alone, never the app around it. */
export function isSharedReportPath(pathname: string): boolean {
  return pathname.startsWith("/r/");
}

/**
 * The app's chrome (the local-mode banner, the header with its navigation, the footer) around a page,
 * except on a shared report: whoever holds the link, signed in or not, in local mode or not, reads the
 * report and nothing that leads into the app.
 */
export function ShellFrame({
  banner,
  header,
  footer,
  children,
}: {
  banner: ReactNode;
  header: ReactNode;
  footer: ReactNode;
  children: ReactNode;
}) {
  const shared = isSharedReportPath(usePathname());
  return (
    <div className="flex min-h-screen flex-col">
      {shared ? null : (
        <>
          <a
            href="#main"
            className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-indigo-600 focus:px-3 focus:py-1 focus:text-white"
          >
            Skip to content
          </a>
          {banner}
          {header}
        </>
      )}
      <main id="main" className="mx-auto w-full max-w-7xl flex-1 px-4 py-8">
        {children}
      </main>
      {shared ? null : footer}
    </div>
  );
}
