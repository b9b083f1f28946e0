"use client";

import { skipToken, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { useTRPC } from "../../_trpc/react.tsx";
import { FINISHED_RUN_STATUSES } from "../../_ui/status.ts";

/** Without the event stream, open views refetch this often while runs are queued or running. */
export const POLL_MS = 2_000;
/** With nothing active and no stream, a slow refetch still notices runs queued from elsewhere (a CLI apply). */
const IDLE_POLL_MS = 10_000;
/** Point events this recent mean the stream carries new points; otherwise curves are polled while runs are active. */
const POINT_EVENTS_FRESH_MS = 5_000;
/** Events arrive per logged batch; refetches are coalesced to at most one per this interval. */
const COALESCE_MS = 600;

type Pending = { table: boolean; metrics: boolean; scaling: boolean };

export type LiveMode = "live" | "polling" | "idle";

/**
 * Keeps the runs table, header counts, curves and scaling fit fresh: follows `live.runEvents`
 * (server-sent events) and refetches what an event touches, at most one refetch per 600 ms.
 * While `active` (any run queued or running) it also refetches every 2 s unless the stream is
 * connected and carrying point events; with nothing active and no stream, every 10 s.
 */
export function useLiveUpdates({
  experimentIds,
  runIds,
  active,
}: {
  experimentIds?: string[];
  runIds?: string[];
  active: boolean;
}): { mode: LiveMode } {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [ready, setReady] = useState(false);
  const lastPointEvent = useRef(0);
  const listenedBefore = useRef(false);
  const pending = useRef<Pending>({ table: false, metrics: false, scaling: false });
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const refetch = useCallback(
    (what: Pending) => {
      const keys = [];
      // A table change may come from a spec applied elsewhere (the CLI): its version shows in headers.
      if (what.table)
        keys.push(
          trpc.runsTable.pathKey(),
          trpc.experiment.list.queryKey(),
          trpc.run.pathKey(),
          trpc.spec.versions.queryKey(),
          trpc.spec.get.queryKey(),
        );
      if (what.metrics) keys.push(trpc.metrics.pathKey());
      if (what.scaling) keys.push(trpc.scaling.pathKey());
      for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
    },
    [queryClient, trpc],
  );

  const schedule = useCallback(
    (what: Partial<Pending>) => {
      const next = pending.current;
      pending.current = {
        table: next.table || Boolean(what.table),
        metrics: next.metrics || Boolean(what.metrics),
        scaling: next.scaling || Boolean(what.scaling),
      };
      if (timer.current) return;
      timer.current = setTimeout(() => {
        timer.current = null;
        const due = pending.current;
        pending.current = { table: false, metrics: false, scaling: false };
        refetch(due);
      }, COALESCE_MS);
    },
    [refetch],
  );
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  const followed = (experimentIds?.length ?? 0) + (runIds?.length ?? 0) > 0;
  const subscription = useSubscription(
    trpc.live.runEvents.subscriptionOptions(
      followed
        ? {
            ...(experimentIds?.length ? { experimentIds } : {}),
            ...(runIds?.length ? { runIds: runIds.slice(0, 500) } : {}),
          }
        : skipToken,
      {
        onData: (event) => {
          if (event.type === "ready" || event.type === "resync") {
            setReady(true);
            // What happened before the stream was listening (or while it was away) is fetched afresh.
            // On the first "ready" the page's own first fetches are still loading or just in: only the
            // table is asked again (a status change it missed); points of runs still active come with
            // the 2 s poll, and the scaling fit follows the table's count of finished runs.
            const first = !listenedBefore.current;
            listenedBefore.current = true;
            schedule(first ? { table: true } : { table: true, metrics: true, scaling: true });
            return;
          }
          const statusChanged = event.status !== undefined;
          const newPoints = event.step !== undefined || (event.keys?.length ?? 0) > 0;
          if (newPoints) lastPointEvent.current = Date.now();
          schedule({
            table: true,
            metrics: newPoints || statusChanged,
            scaling: statusChanged && FINISHED_RUN_STATUSES.has(event.status ?? ""),
          });
        },
        onError: () => setReady(false),
      },
    ),
  );
  const connected = ready && subscription.status === "pending";

  useEffect(() => {
    if (!active) {
      if (connected) return;
      const idle = setInterval(() => refetch({ table: true, metrics: false, scaling: false }), IDLE_POLL_MS);
      return () => clearInterval(idle);
    }
    // Status changes come as events; points may not (not every writer announces them), so while runs
    // are active the curves and progress are refetched every 2 s unless point events are flowing.
    const interval = setInterval(() => {
      const pointsFlowing = connected && Date.now() - lastPointEvent.current < POINT_EVENTS_FRESH_MS;
      if (!pointsFlowing) refetch({ table: true, metrics: true, scaling: false });
    }, POLL_MS);
    return () => clearInterval(interval);
  }, [active, connected, refetch]);

  return { mode: connected ? "live" : active ? "polling" : "idle" };
}
