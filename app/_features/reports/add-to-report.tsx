"use client";

import { skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useId, useState } from "react";
import type { CurvesPanel } from "~/server/domain/panels/curves.ts";
import { MAX_REPORT_PANELS, MAX_REPORT_RUNS } from "~/server/domain/report/report-schema.ts";
import { Button, ErrorMessage, Select, TextInput } from "../../_ui/ui.tsx";
import { useTRPC } from "../../_trpc/react.tsx";
import type { CurvesView } from "../charts/curves-panel.tsx";

const NEW_REPORT = "";

/** The chart as a report's curves panel: the same metric, axes and grouping. */
function curvesPanelOf(chart: CurvesView): CurvesPanel {
  return {
    kind: "curves",
    metric: chart.metric,
    x: chart.x,
    logX: chart.logX,
    logY: chart.logY,
    ...(chart.groupBy ? { groupBy: chart.groupBy } : {}),
  };
}

/**
 * "Add to report" on the compare page: the compared runs and the chart as drawn become a curves panel
 * of a new report or the last panel of an existing one in the runs' project, which then opens.
 * Runs of other projects are left out (a report reads one project's runs), and it says so.
 */
export function AddToReport({ runIds, chart }: { runIds: string[]; chart: CurvesView | null }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const formId = useId();
  const [open, setOpen] = useState(false);
  const [target, setTarget] = useState(NEW_REPORT);
  const [title, setTitle] = useState("");

  // The compare page's own query of these rows: answered from its cache.
  const rows = useQuery(
    trpc.runsTable.list.queryOptions(open && runIds.length ? { filter: { runIds }, limit: 500 } : skipToken),
  );
  const firstRun = runIds[0];
  const run = useQuery(trpc.run.get.queryOptions(open && firstRun ? { runId: firstRun } : skipToken));
  const project = run.data?.experiment.project ?? null;
  const experiments = useQuery(
    trpc.experiment.list.queryOptions(open && project ? { projectId: project.id } : skipToken),
  );
  const reports = useQuery(trpc.report.list.queryOptions(open && project ? { projectId: project.id } : skipToken));

  const inProject = new Set((experiments.data ?? []).map((experiment) => experiment.id));
  const projectRunIds = (rows.data?.rows ?? [])
    .filter((row) => inProject.has(row.experimentId))
    .map((row) => row.id)
    .slice(0, MAX_REPORT_RUNS);
  const leftOut = runIds.length - projectRunIds.length;

  const opened = (reportId: string) => async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.report.pathKey() });
    if (project) router.push(`/projects/${project.id}/reports/${reportId}`);
  };
  const create = useMutation(trpc.report.create.mutationOptions());
  const update = useMutation(trpc.report.update.mutationOptions());
  const pending = create.isPending || update.isPending;
  const ready = chart !== null && project !== null && experiments.isSuccess && reports.isSuccess && rows.isSuccess;

  const submit = () => {
    if (!chart || !project || projectRunIds.length === 0) return;
    const panel = curvesPanelOf(chart);
    if (target === NEW_REPORT) {
      create.mutate(
        {
          projectId: project.id,
          title: title.trim() || `${chart.metric} of ${projectRunIds.length} runs`,
          panels: [panel],
          runIds: projectRunIds,
        },
        { onSuccess: (report) => void opened(report.id)() },
      );
      return;
    }
    const report = reports.data?.find((candidate) => candidate.id === target);
    if (!report) return;
    update.mutate(
      {
        reportId: report.id,
        panels: [...report.panels, panel],
        runIds: [...new Set([...report.runIds, ...projectRunIds])],
      },
      { onSuccess: () => void opened(report.id)() },
    );
  };

  const full = reports.data?.find((candidate) => candidate.id === target)?.panels.length ?? 0;
  return (
    <div>
      <Button
        variant="secondary"
        onClick={() => setOpen(!open)}
        aria-expanded={open}
        aria-controls={formId}
        data-testid="add-to-report"
      >
        Add to report
      </Button>
      {open ? (
        <form
          id={formId}
          className="mt-2 w-full max-w-md space-y-3 rounded-xl border border-slate-200 bg-white p-4 text-sm shadow-sm dark:border-slate-800 dark:bg-slate-900"
          data-testid="add-to-report-form"
          onSubmit={(event) => {
            event.preventDefault();
            submit();
          }}
        >
          <p>
            {chart
              ? `The chart (${chart.metric} vs ${chart.x}${chart.groupBy ? `, by ${chart.groupBy}` : ""}) and its runs become a curves panel`
              : "Waiting for the chart to load"}
            {project ? ` in a report of ${project.name}.` : "."}
          </p>
          {leftOut > 0 && rows.isSuccess && experiments.isSuccess ? (
            <p className="text-amber-800 dark:text-amber-200" data-testid="add-to-report-left-out">
              {leftOut} run{leftOut === 1 ? "" : "s"} of other projects (or past {MAX_REPORT_RUNS}) left out: a report
              reads one project&apos;s runs.
            </p>
          ) : null}
          <label className="block">
            <span className="mb-1 block font-medium">Report</span>
            <Select
              value={target}
              onChange={(event) => setTarget(event.target.value)}
              data-testid="add-to-report-target"
            >
              <option value={NEW_REPORT}>New report</option>
              {(reports.data ?? []).map((report) => (
                <option key={report.id} value={report.id} disabled={report.panels.length >= MAX_REPORT_PANELS}>
                  {report.title}
                  {report.panels.length >= MAX_REPORT_PANELS ? ` (full: ${MAX_REPORT_PANELS} panels)` : ""}
                </option>
              ))}
            </Select>
          </label>
          {target === NEW_REPORT ? (
            <label className="block">
              <span className="mb-1 block font-medium">Title</span>
              <TextInput
                value={title}
                onChange={(event) => setTitle(event.target.value)}
                placeholder={chart ? `${chart.metric} of ${projectRunIds.length} runs` : "Report title"}
                maxLength={200}
                data-testid="add-to-report-title"
              />
            </label>
          ) : null}
          <div className="flex flex-wrap gap-2">
            <Button
              type="submit"
              disabled={!ready || pending || projectRunIds.length === 0 || full >= MAX_REPORT_PANELS}
              data-testid="add-to-report-submit"
            >
              {target === NEW_REPORT ? "Create report" : "Add panel"}
            </Button>
            <Button variant="secondary" onClick={() => setOpen(false)}>
              Cancel
            </Button>
          </div>
          <ErrorMessage>
            {create.error?.message ??
              update.error?.message ??
              run.error?.message ??
              reports.error?.message ??
              experiments.error?.message}
          </ErrorMessage>
        </form>
      ) : null}
    </div>
  );
}
