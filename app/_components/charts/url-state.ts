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
    if (url !== `${window.location.pathname}${window.location.search}${window.location.hash}`) window.history.replaceState(null, "", url);
  }, []);
  return { params: searchParams, set };
}

export function readNumber(params: URLSearchParams | { get(key: string): string | null }, key: string): number | null {
  const text = params.get(key);
  if (text === null || text === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export function readEnum<T extends string>(params: { get(key: string): string | null }, key: string, allowed: readonly T[], fallback: T): T {
  const text = params.get(key);
  return allowed.includes(text as T) ? (text as T) : fallback;
}

export function readList(params: { get(key: string): string | null }, key: string): string[] {
  return (params.get(key) ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}
