import Link from "next/link";

/** What a list of reports shows of one. */
export type ReportRowData = {
  id: string;
  title: string;
  publishedAt: Date | null;
  frozen: boolean;
  panels: unknown[];
  runIds: string[];
  updatedAt: Date;
};

/** One report in a list (a project's reports, or the team's on /reports): its link, state and size. */
export function ReportRow({
  report,
  projectId,
  testId,
}: {
  report: ReportRowData;
  projectId: string;
  testId?: string;
}) {
  return (
    <li className="flex flex-wrap items-center justify-between gap-2 px-4 py-3">
      <Link
        href={`/projects/${projectId}/reports/${report.id}`}
        className="min-w-0 font-medium break-words text-indigo-700 hover:underline dark:text-indigo-300"
        data-testid={testId}
      >
        {report.title}
      </Link>
      <span className="text-xs text-slate-500 dark:text-slate-400">
        {report.publishedAt ? (report.frozen ? "Published, frozen" : "Published, live") : "Draft"} ·{" "}
        {report.panels.length} panels · {report.runIds.length} runs · updated {report.updatedAt.toLocaleString()}
      </span>
    </li>
  );
}
