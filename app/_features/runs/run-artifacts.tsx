"use client";

import { useEffect, useState } from "react";

type ArtifactEntry = { path: string; isDir: boolean; size?: number; modifiedAt?: string };
type Listing = { artifacts: ArtifactEntry[]; truncated: boolean };

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * A run's artifacts (files uploaded through /api/v1/runs/{id}/artifacts or MLflow's log_artifact),
 * each a download link: the server sends them as attachments, so nothing is rendered in the page.
 */
export function RunArtifacts({ runId }: { runId: string }) {
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    fetch(`/api/v1/runs/${encodeURIComponent(runId)}/artifacts`, { cache: "no-store" })
      .then(async (response) => {
        const body = (await response.json()) as Listing & { error?: { message: string } };
        if (stopped) return;
        if (!response.ok) setError(body.error?.message ?? `HTTP ${response.status}`);
        else setListing(body);
      })
      .catch((reason: unknown) => {
        if (!stopped) setError(reason instanceof Error ? reason.message : String(reason));
      });
    return () => {
      stopped = true;
    };
  }, [runId]);

  const files = listing?.artifacts.filter((entry) => !entry.isDir) ?? [];
  return (
    <section
      aria-labelledby="run-artifacts-title"
      data-testid="run-artifacts"
      className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 id="run-artifacts-title" className="mb-3 font-medium">
        Artifacts
      </h2>
      {error ? (
        <p
          role="alert"
          className="text-sm text-red-700 dark:text-red-300"
        >{`Artifacts could not be listed: ${error}`}</p>
      ) : !listing ? (
        <p aria-busy="true" className="text-sm text-slate-500 dark:text-slate-400">
          Loading…
        </p>
      ) : files.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          No artifacts. Upload with PUT /api/v1/runs/{runId}/artifacts/&lt;path&gt; or mlflow.log_artifact.
        </p>
      ) : (
        <ul className="max-h-80 space-y-1 overflow-auto text-sm">
          {files.map((file) => (
            <li key={file.path} className="flex justify-between gap-3">
              <a
                href={`/api/v1/runs/${encodeURIComponent(runId)}/artifacts/${file.path.split("/").map(encodeURIComponent).join("/")}`}
                download
                className="min-w-0 break-all font-mono text-xs text-indigo-700 hover:underline dark:text-indigo-300"
              >
                {file.path}
              </a>
              <span className="shrink-0 tabular-nums text-slate-600 dark:text-slate-400">
                {formatSize(file.size ?? 0)}
              </span>
            </li>
          ))}
        </ul>
      )}
      {listing?.truncated ? (
        <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">Only the first 10,000 entries are listed.</p>
      ) : null}
    </section>
  );
}
