"use client";

import type { ReactNode } from "react";

/** The placeholder a panel shows while its data or its chart code loads. */
export function ChartSkeleton({ height = 320, label = "Loading chart" }: { height?: number; label?: string }) {
  return (
    <div
      role="status"
      aria-busy="true"
      aria-label={label}
      style={{ height }}
      className="animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800"
    />
  );
}

export function PanelError({ children }: { children: ReactNode }) {
  return (
    <div
      role="alert"
      className="rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
    >
      {children}
    </div>
  );
}

export function PanelEmpty({
  title,
  children,
  height = 200,
  testId,
}: {
  title: string;
  children?: ReactNode;
  height?: number;
  testId?: string;
}) {
  return (
    <div
      data-testid={testId}
      style={{ minHeight: height }}
      className="flex flex-col items-center justify-center gap-1 rounded-lg border border-dashed border-slate-300 p-4 text-center text-sm text-slate-600 dark:border-slate-700 dark:text-slate-400"
    >
      <p className="font-medium text-slate-800 dark:text-slate-200">{title}</p>
      {children}
    </div>
  );
}

/** A small labelled control group in a panel's toolbar. */
export function ToolbarLabel({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is `children`, which the rule cannot see.
    <label className="flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-400">
      <span>{label}</span>
      {children}
    </label>
  );
}

const toggleBase =
  "rounded-md border px-2 py-1 text-xs font-medium transition-colors focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-500";

/** A pressed/unpressed button (log axes, legend entries): aria-pressed tells screen readers its state. */
export function ToggleButton({
  pressed,
  onClick,
  children,
  label,
  testId,
}: {
  pressed: boolean;
  onClick: () => void;
  children: ReactNode;
  label?: string;
  testId?: string;
}) {
  return (
    <button
      type="button"
      aria-pressed={pressed}
      aria-label={label}
      data-testid={testId}
      onClick={onClick}
      className={`${toggleBase} ${
        pressed
          ? "border-indigo-500 bg-indigo-50 text-indigo-800 dark:border-indigo-400 dark:bg-indigo-950 dark:text-indigo-200"
          : "border-slate-300 bg-white text-slate-700 hover:bg-slate-100 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-300 dark:hover:bg-slate-800"
      }`}
    >
      {children}
    </button>
  );
}

export function ToolButton({
  onClick,
  children,
  label,
  disabled,
  testId,
}: {
  onClick: () => void;
  children: ReactNode;
  label?: string;
  disabled?: boolean;
  testId?: string;
}) {
  return (
    <button
      type="button"
      aria-label={label}
      title={label}
      data-testid={testId}
      disabled={disabled}
      onClick={onClick}
      className={`${toggleBase} border-slate-300 bg-white text-slate-700 hover:bg-slate-100 disabled:opacity-50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-300 dark:hover:bg-slate-800`}
    >
      {children}
    </button>
  );
}

export const smallSelect =
  "rounded-md border border-slate-300 bg-white px-2 py-1 text-xs focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-slate-700 dark:bg-slate-900";

/** Starts a browser download of text or a data: URL. */
export function download(fileName: string, content: string, type?: string) {
  const url = type ? URL.createObjectURL(new Blob([content], { type })) : content;
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  if (type) setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Every CSV export goes through the one writer, which neutralises formula cells (app/_lib/csv.ts). */
export { toCsv } from "../../_lib/csv.ts";

/** A file name from a title: "val/loss vs step" -> "val-loss-vs-step". */
export function fileSlug(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 80) || "chart"
  );
}
