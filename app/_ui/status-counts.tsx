import { RUN_STATUS_STYLES, RUN_STATUSES } from "./status.ts";

/** Runs by status as coloured pills, in the statuses' usual order; statuses without runs are left out. */
export function StatusCounts({
  counts,
  testId,
  pillTestIdPrefix,
}: {
  counts: Record<string, number>;
  testId?: string;
  /** Each pill's test id is this prefix and its status (`count-succeeded`). */
  pillTestIdPrefix: string;
}) {
  const present = RUN_STATUSES.filter((status) => (counts[status] ?? 0) > 0);
  if (present.length === 0) return <span className="text-sm text-slate-500">no runs</span>;
  return (
    <ul className="flex flex-wrap gap-1" aria-label="Runs by status" data-testid={testId}>
      {present.map((status) => (
        <li
          key={status}
          data-testid={`${pillTestIdPrefix}${status}`}
          className={`rounded-full px-2 py-0.5 text-xs font-medium ${RUN_STATUS_STYLES[status]}`}
        >
          {counts[status]} {status}
        </li>
      ))}
    </ul>
  );
}
