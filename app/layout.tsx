import type { Metadata } from "next";
import type { ReactNode } from "react";
import { env } from "~/server/env.ts";
import { SERIES_STARTER_SCRIPT } from "./_features/charts/early-curves/series-starter.ts";
import { AppShell } from "./_features/shell/app-shell.tsx";
import { TRPCReactProvider } from "./_trpc/react.tsx";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Scaleboard", template: "%s · Scaleboard" },
  description: "Run and compare model-size experiments: live curves, scaling-law fits, shared reports.",
};

// Sets the theme class before first paint so a dark-mode user never sees a white flash.
const themeScript = `try{var t=localStorage.getItem("scaleboard-theme");var d=t?t==="dark":matchMedia("(prefers-color-scheme: dark)").matches;document.documentElement.classList.toggle("dark",d)}catch(e){}`;

/**
 * A page that draws before it hydrates (the compare page's early chart, app/_features/charts/early-curves/)
 * says so with <meta name="scaleboard-hold-hydration" content="MS">; Next.js then starts its runtime
 * once that drawing calls scaleboardReleaseHydration() (or its script fails to load after this script has
 * run, or MS after navigation start, whichever is first), so the two do not share the main thread. Next 16 loads self.__next_s (next/script's beforeInteractive
 * queue) in sequence before it hydrates (client/app-bootstrap.js); the hold is one more step of that
 * sequence. Without the meta tag nothing changes.
 */
const hydrationHoldScript = `(function(){var m=document.querySelector('meta[name="scaleboard-hold-hydration"]');if(!m)return;var cap=Number(m.content)||2500,released=false,go=null;self.scaleboardReleaseHydration=function(){released=true;if(go)go()};addEventListener("error",function(e){var t=e.target;if(t&&t.tagName==="SCRIPT"&&t.src.indexOf("/scaleboard/")>=0)self.scaleboardReleaseHydration()},true);var q=self.__next_s=self.__next_s||[],reduce=q.reduce;q.push([null,{children:""}]);q.reduce=function(){return reduce.apply(this,arguments).then(function(){if(released)return;return new Promise(function(r){go=r;setTimeout(r,Math.max(0,cap-performance.now()))})})}})()`;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a constant script written here, no user input; it must run inline before first paint. */}
        <script dangerouslySetInnerHTML={{ __html: themeScript }} />
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a constant script written here, no user input; it must run before Next.js starts. */}
        <script dangerouslySetInnerHTML={{ __html: hydrationHoldScript }} />
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: a constant script written here (series-starter.ts); it reads the page's <meta> tags. */}
        <script dangerouslySetInnerHTML={{ __html: SERIES_STARTER_SCRIPT }} />
      </head>
      <body className="min-h-screen bg-slate-50 font-sans text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        <TRPCReactProvider logErrors={env().NODE_ENV === "development"}>
          <AppShell>{children}</AppShell>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
