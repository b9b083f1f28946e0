"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTRPC } from "../../_trpc/react.tsx";

type LogLine = { id: bigint; attempt: number; stream: string; line: string; createdAt: Date };

const FOLLOW_MS = 1_000;
const KEEP_LINES = 5_000;

/** The run's output, oldest first; while following, new lines are fetched every second and the view stays at the bottom. */
export function RunLogs({ runId, onStatus }: { runId: string; onStatus?: (status: string | null) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const lastId = useRef<bigint | null>(null);
  const box = useRef<HTMLPreElement | null>(null);
  const statusCallback = useRef(onStatus);
  useEffect(() => {
    statusCallback.current = onStatus;
  }, [onStatus]);

  const finished = status !== null && status !== "queued" && status !== "running";

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const poll = async () => {
      try {
        // Read fresh every time: the cursor moves, so each call is its own request.
        const page = await queryClient.fetchQuery({
          ...trpc.run.logs.queryOptions({ runId, afterId: lastId.current }),
          staleTime: 0,
          gcTime: 0,
        });
        if (stopped) return;
        if (page.lines.length > 0) {
          lastId.current = page.lines.at(-1)!.id;
          setLines((current) => [...current, ...page.lines].slice(-KEEP_LINES));
        }
        setStatus(page.status);
        statusCallback.current?.(page.status);
        setError(null);
        setLoaded(true);
        // A full page means more are waiting: read on at once.
        const more = page.lines.length >= 1000;
        const active = page.status === "queued" || page.status === "running";
        if (more || (follow && active)) timer = setTimeout(poll, more ? 0 : FOLLOW_MS);
      } catch (caught) {
        if (stopped) return;
        setError(caught instanceof Error ? caught.message : String(caught));
        setLoaded(true);
        if (follow) timer = setTimeout(poll, FOLLOW_MS * 3);
      }
    };
    void poll();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [runId, follow, queryClient, trpc]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `lines` is the trigger, not a value read: the box scrolls to the bottom after new lines render.
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  return (
    <section
      data-testid="run-logs"
      aria-labelledby="run-logs-title"
      className="min-w-0 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h2 id="run-logs-title" className="font-medium">
          Logs
        </h2>
        <label className="flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-400">
          <input
            type="checkbox"
            className="h-4 w-4 accent-indigo-600"
            checked={follow}
            onChange={(event) => setFollow(event.target.checked)}
            disabled={finished}
          />
          Follow {finished ? "(run finished)" : ""}
        </label>
      </div>
      {error ? (
        <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-300">
          Could not read the logs: {error}
        </p>
      ) : null}
      {!loaded ? (
        <div aria-busy="true" className="h-40 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800" />
      ) : lines.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 p-4 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400">
          {status === "queued"
            ? "No output yet: the run is waiting for a worker."
            : "This run has written no log lines."}
        </p>
      ) : (
        <pre
          ref={box}
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling box must take focus so keyboard users can scroll it (WCAG 2.1.1).
          tabIndex={0}
          role="log"
          aria-label="Log output"
          className="max-h-96 overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs leading-5 text-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500"
        >
          {lines.map((line) => (
            <div
              key={String(line.id)}
              className={`whitespace-pre-wrap break-words ${line.stream === "stderr" ? "text-red-300" : ""}`}
            >
              <span className="select-none text-slate-500">{line.createdAt.toLocaleTimeString()} </span>
              {line.attempt > 1 ? <span className="select-none text-amber-400">[attempt {line.attempt}] </span> : null}
              {line.line}
            </div>
          ))}
        </pre>
      )}
    </section>
  );
}
