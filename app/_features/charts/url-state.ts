"use client";

import { useSearchParams } from "next/navigation";
import { useCallback } from "react";

export type UrlPatch = Record<string, string | number | boolean | null | undefined>;

/**
 * A view's state lives in the query string so a link reproduces what its sender saw.
 * Writes go through history.replaceState, which Next keeps in sync with useSearchParams:
 * unlike router.replace it does not refetch the (dynamic) server page on every slider move.
 * The base is the current location, not the render's params, so two writes in one tick compose.
 * The state argument must not be Next's own (it carries __NA): Next would take the call for one
 * of its own and skip the sync.
 */
export function useUrlState() {
  const searchParams = useSearchParams();
  const set = useCallback((patch: UrlPatch) => {
    const next = new URLSearchParams(window.location.search);
    for (const [key, value] of Object.entries(patch)) {
      if (value === null || value === undefined || value === "" || value === false) next.delete(key);
      else next.set(key, String(value));
    }
    const query = next.toString();
    const url = `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`;
    if (url !== `${window.location.pathname}${window.location.search}${window.location.hash}`)
      window.history.replaceState(null, "", url);
  }, []);
  return { params: searchParams, set };
}

// The readers are in url-read.ts, which server components can import too.
export { readEnum, readList, readNumber } from "./url-read.ts";
