import type { Metadata } from "next";
import type { ReactNode } from "react";
import { env } from "~/server/env.ts";
import { AppShell } from "./_features/shell/app-shell.tsx";
import { TRPCReactProvider } from "./_trpc/react.tsx";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Scaleboard", template: "%s · Scaleboard" },
  description: "Run and compare model-size experiments: live curves, scaling-law fits, shared reports.",
};

// Sets the theme class before first paint so a dark-mode user never sees a white flash.
const themeScript = `try{var t=localStorage.getItem("scaleboard-theme");var d=t?t==="dark":matchMedia("(prefers-color-scheme: dark)").matches;document.documentElement.classList.toggle("dark",d)}catch(e){}`;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a constant script written here, no user input; it must run inline before first paint. */}
        <script dangerouslySetInnerHTML={{ __html: themeScript }} />
      </head>
      <body className="min-h-screen bg-slate-50 font-sans text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        <TRPCReactProvider logErrors={env().NODE_ENV === "development"}>
          <AppShell>{children}</AppShell>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
