"use client";

import Link from "next/link";
import { Button } from "./_ui/ui.tsx";

/** A page that failed to render on the server (database down, a bug): say so, offer a retry. */
export default function PageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div
      role="alert"
      data-testid="page-error"
      className="mx-auto max-w-xl rounded-xl border border-red-300 bg-red-50 p-6 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      <h1 className="text-base font-semibold">This page could not be loaded</h1>
      <p className="mt-2">{error.message || "The server could not answer."}</p>
      {error.digest ? (
        <p className="mt-1 font-mono text-xs opacity-70">Reference {error.digest} (in the server log)</p>
      ) : null}
      <div className="mt-4 flex items-center gap-3">
        <Button onClick={() => reset()}>Try again</Button>
        <Link href="/" className="font-medium underline">
          Go to the projects
        </Link>
      </div>
    </div>
  );
}
