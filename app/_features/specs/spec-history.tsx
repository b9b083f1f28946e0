"use client";

import { skipToken, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../../_trpc/react.tsx";
import { Button, ErrorMessage, Select } from "../../_ui/ui.tsx";

function lineClass(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---")) return "text-slate-500 dark:text-slate-400";
  if (line.startsWith("@@")) return "bg-sky-50 text-sky-800 dark:bg-sky-950/60 dark:text-sky-300";
  if (line.startsWith("+")) return "bg-emerald-50 text-emerald-800 dark:bg-emerald-950/60 dark:text-emerald-300";
  if (line.startsWith("-")) return "bg-red-50 text-red-800 dark:bg-red-950/60 dark:text-red-300";
  return "";
}

/** A unified diff, one coloured line per row; the `Index:`/`===` preamble is dropped. */
function PatchView({ patch }: { patch: string }) {
  const lines = patch
    .split("\n")
    .filter((line, index) => !(index < 2 && (line.startsWith("Index:") || /^=+$/.test(line))));
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  const changed = lines.some((line) => line.startsWith("@@"));
  return (
    <figure aria-label="Spec diff">
      <pre
        data-testid="spec-diff"
        className="max-h-[32rem] overflow-auto rounded-lg border border-slate-200 bg-white py-2 font-mono text-xs leading-5 dark:border-slate-800 dark:bg-slate-950"
      >
        {changed ? (
          lines.map((line, index) => (
            <span
              // biome-ignore lint/suspicious/noArrayIndexKey: a patch's lines never move; a line's place in it is its identity.
              key={index}
              data-diff={
                line.startsWith("+") && !line.startsWith("+++")
                  ? "added"
                  : line.startsWith("-") && !line.startsWith("---")
                    ? "removed"
                    : undefined
              }
              className={`block px-3 ${lineClass(line)}`}
            >
              {line || " "}
            </span>
          ))
        ) : (
          <span className="block px-3 text-slate-500">The two versions have the same text.</span>
        )}
      </pre>
    </figure>
  );
}

/** The experiment's spec versions, a diff between any two, and loading an old one into the editor. */
export function SpecHistory({
  experimentId,
  onLoadVersion,
}: {
  experimentId: string;
  onLoadVersion: (source: string, version: number) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const versions = useQuery(trpc.spec.versions.queryOptions({ experimentId }));
  // null: follow the newest two versions as new ones are applied.
  const [picked, setPicked] = useState<{ from: number; to: number } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  const list = versions.data ?? [];
  const newest = list[0]?.version ?? null;
  const previous = list[1]?.version ?? null;
  const from = picked?.from ?? previous;
  const to = picked?.to ?? newest;
  const diff = useQuery(
    trpc.spec.diff.queryOptions(from !== null && to !== null && from !== to ? { experimentId, from, to } : skipToken),
  );

  if (versions.isPending)
    return <div aria-busy className="h-40 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;
  if (versions.isError) return <ErrorMessage>Could not load the spec history: {versions.error.message}</ErrorMessage>;
  if (list.length === 0) return <p className="text-sm text-slate-600 dark:text-slate-400">No spec versions yet.</p>;

  async function load(version: number) {
    setLoadError(null);
    try {
      const spec = await queryClient.fetchQuery(trpc.spec.get.queryOptions({ experimentId, version }));
      onLoadVersion(spec.source, version);
    } catch (error) {
      setLoadError(error instanceof Error ? error.message : String(error));
    }
  }

  return (
    <section
      aria-labelledby="history-heading"
      data-testid="spec-history"
      className="space-y-4 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 id="history-heading" className="font-medium">
        Spec history
      </h2>
      <ol className="divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="spec-versions">
        {list.map((version) => (
          <li
            key={version.id}
            className="flex flex-wrap items-center justify-between gap-2 py-1.5"
            data-testid="spec-version"
          >
            <span>
              <span className="font-medium">v{version.version}</span>
              <span className="text-slate-500 dark:text-slate-400">
                {" "}
                · {version.createdAt.toLocaleString()}
                {version.createdBy ? ` · ${version.createdBy.name}` : ""} · {version._count.runs} run
                {version._count.runs === 1 ? "" : "s"} created
              </span>
            </span>
            <Button variant="secondary" className="px-2 py-0.5 text-xs" onClick={() => void load(version.version)}>
              Load v{version.version} into editor
            </Button>
          </li>
        ))}
      </ol>
      <ErrorMessage>{loadError}</ErrorMessage>

      {list.length < 2 ? (
        <p className="text-sm text-slate-600 dark:text-slate-400">
          Only one version so far: apply a changed spec to compare versions.
        </p>
      ) : (
        <div className="space-y-3">
          <div className="flex flex-wrap items-end gap-3 text-sm">
            <label className="block">
              <span className="mb-1 block font-medium">From</span>
              <Select
                value={from ?? ""}
                onChange={(event) =>
                  setPicked({ from: Number(event.target.value), to: to ?? Number(event.target.value) })
                }
                className="w-28"
              >
                {list.map((version) => (
                  <option key={version.id} value={version.version}>
                    v{version.version}
                  </option>
                ))}
              </Select>
            </label>
            <label className="block">
              <span className="mb-1 block font-medium">To</span>
              <Select
                value={to ?? ""}
                onChange={(event) =>
                  setPicked({ from: from ?? Number(event.target.value), to: Number(event.target.value) })
                }
                className="w-28"
              >
                {list.map((version) => (
                  <option key={version.id} value={version.version}>
                    v{version.version}
                  </option>
                ))}
              </Select>
            </label>
          </div>
          {from === to ? (
            <p className="text-sm text-slate-600 dark:text-slate-400">
              Pick two different versions to see what changed.
            </p>
          ) : diff.isPending ? (
            <div aria-busy className="h-24 animate-pulse rounded-lg bg-slate-200 dark:bg-slate-800" />
          ) : diff.isError ? (
            <ErrorMessage>Could not load the diff: {diff.error.message}</ErrorMessage>
          ) : (
            <PatchView patch={diff.data.patch} />
          )}
        </div>
      )}
    </section>
  );
}
