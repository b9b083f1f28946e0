import type { ReactNode } from "react";

export function EmptyState({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <div
      data-testid={testId}
      className="rounded-xl border border-dashed border-slate-300 bg-white p-8 text-center dark:border-slate-700 dark:bg-slate-900"
    >
      <h2 className="text-base font-semibold">{title}</h2>
      <div className="mx-auto mt-2 max-w-xl space-y-3 text-sm text-slate-600 dark:text-slate-400">{children}</div>
    </div>
  );
}

export function Command({ children }: { children: ReactNode }) {
  return (
    <code className="block rounded-md bg-slate-900 px-3 py-2 text-left font-mono text-xs text-slate-100 dark:bg-slate-800">
      {children}
    </code>
  );
}
