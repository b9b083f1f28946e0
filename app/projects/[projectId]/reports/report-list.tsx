"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ReportRow } from "~/app/_features/reports/report-row.tsx";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { EmptyState } from "~/app/_ui/empty-state.tsx";
import { Button, ErrorMessage, TextInput } from "~/app/_ui/ui.tsx";
import { useTRPC } from "~/app/_trpc/react.tsx";
import { DEFAULT_METRIC } from "~/server/domain/project/default-metric.ts";

/** What a new report starts with: the curves of the project's metric and its scaling fit; the editor adds runs. */
const starterPanels = (metric: string) => [
  { kind: "curves" as const, metric, x: "step" as const, logX: false, logY: true },
  { kind: "scaling" as const, metric, x: "params" as const, fit: true },
];

export function ReportList({ projectId, canEdit }: { projectId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const reports = useQuery(trpc.report.list.queryOptions({ projectId }));
  // The project's metric setting, else val/loss.
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const [title, setTitle] = useState("");
  const create = useMutation(
    trpc.report.create.mutationOptions({
      onSuccess: async (report) => {
        await queryClient.invalidateQueries({ queryKey: trpc.report.list.pathKey() });
        router.push(`/projects/${projectId}/reports/${report.id}?edit=1`);
      },
    }),
  );

  return (
    <div className="space-y-6">
      {canEdit ? (
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            create.mutate({
              projectId,
              title,
              panels: starterPanels(project.data?.metric?.name ?? DEFAULT_METRIC.name),
            });
          }}
        >
          <label className="block min-w-64 flex-1 text-sm">
            <span className="mb-1 block font-medium">New report</span>
            <TextInput
              value={title}
              onChange={(event) => setTitle(event.target.value)}
              placeholder="Which width wins?"
              data-testid="new-report-title"
              maxLength={200}
              required
            />
          </label>
          <Button type="submit" disabled={create.isPending} data-testid="new-report-create">
            Create report
          </Button>
        </form>
      ) : null}
      <ErrorMessage>{create.error?.message}</ErrorMessage>
      {reports.data && reports.data.length === 0 ? (
        <EmptyState title="No reports yet" testId="reports-empty">
          <p>
            A report puts notes, charts, the scaling fit and tables over chosen runs on one page you can share
            read-only.
          </p>
        </EmptyState>
      ) : (
        <ul
          className="divide-y divide-slate-200 rounded-xl border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
          data-testid="report-list"
        >
          {(reports.data ?? []).map((report) => (
            <ReportRow key={report.id} report={report} projectId={projectId} />
          ))}
        </ul>
      )}
    </div>
  );
}
