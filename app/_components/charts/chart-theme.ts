"use client";

import { useSyncExternalStore } from "react";

/**
 * Series colours: Tableau 10 on light backgrounds; lighter tints of the same hues on dark ones,
 * where the light-mode blues and browns fall below a readable contrast against slate-900.
 */
const LIGHT = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#79706e"];
const DARK = ["#8cb4e0", "#ffab5e", "#ff8a8c", "#9fe0da", "#8fd483", "#f6dc72", "#d7a6ca", "#ffc1c8", "#d0a98f", "#bab0ac"];

export function seriesColor(index: number, dark: boolean): string {
  const palette = dark ? DARK : LIGHT;
  return palette[index % palette.length]!;
}

/** #rrggbb with an alpha, for faint raw curves and bands. */
export function withAlpha(hex: string, alpha: number): string {
  const value = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

export type ChartTheme = { dark: boolean; text: string; muted: string; grid: string; background: string; accent: string };

export function chartTheme(dark: boolean): ChartTheme {
  return dark
    ? { dark, text: "#e2e8f0", muted: "#94a3b8", grid: "rgba(148, 163, 184, 0.18)", background: "#0f172a", accent: "#a5b4fc" }
    : { dark, text: "#0f172a", muted: "#64748b", grid: "rgba(100, 116, 139, 0.18)", background: "#ffffff", accent: "#4f46e5" };
}

function subscribe(onChange: () => void): () => void {
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  return () => observer.disconnect();
}

/** Follows the theme toggle, which flips the `dark` class on <html>. */
export function useDarkMode(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => document.documentElement.classList.contains("dark"),
    () => false,
  );
}
