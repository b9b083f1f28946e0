"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState } from "react";
import type { AppRouter } from "~/server/api/root.ts";
import { createPanel, PANEL_DEFINITIONS, PANEL_KINDS, type PanelKind } from "~/server/domain/panels/panel-registry.ts";
import type { ReportPanel } from "~/server/domain/report/report-schema.ts";
import { groupableKeys } from "~/app/_features/panels/curves.tsx";
import { panelRenderer } from "~/app/_features/panels/panel-renderers.ts";
import { Button, Check, ErrorMessage, Select, TextInput } from "~/app/_ui/ui.tsx";
import { useTRPC } from "~/app/_trpc/react.tsx";
import { ReportPanels } from "~/app/_features/reports/report-document.tsx";
import { ReportMarkdown } from "~/app/_features/reports/report-markdown.tsx";

type ReportSummary = inferRouterOutputs<AppRouter>["report"]["get"]["report"];

/** The kind the "add panel" list names (its options are the registry's kinds). */
function panelKind(value: string): PanelKind {
  return PANEL_KINDS.find((kind) => kind === value) ?? "curves";
}

/** The value after it has stopped changing for `delay` ms: the preview reads panels once typing pauses. */
function useSettled<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

/** A panel in the editor's list with a key of its own, so moving or removing one keeps each row's inputs with it. */
let panelKeys = 0;
function keyedPanel(panel: ReportPanel): { key: number; panel: ReportPanel } {
  panelKeys += 1;
  return { key: panelKeys, panel };
}

function PanelFields({
  panel,
  onChange,
  paramKeys,
}: {
  panel: ReportPanel;
  onChange: (panel: ReportPanel) => void;
  paramKeys: string[];
}) {
  const { Fields } = panelRenderer(panel.kind);
  return <Fields panel={panel} onChange={onChange} paramKeys={paramKeys} />;
}

function RunPicker({
  projectId,
  runIds,
  onChange,
}: {
  projectId: string;
  runIds: string[];
  onChange: (runIds: string[]) => void;
}) {
  const trpc = useTRPC();
  const candidates = useQuery(trpc.report.candidates.queryOptions({ projectId }));
  const [filter, setFilter] = useState("");
  const chosen = new Set(runIds);
  const shown = (candidates.data ?? []).filter((run) =>
    `${run.experiment} ${run.name}`.toLowerCase().includes(filter.toLowerCase()),
  );
  const experiments = [...new Set(shown.map((run) => run.experiment))];
  return (
    <fieldset
      className="space-y-2 rounded-xl border border-slate-200 p-3 dark:border-slate-800"
      data-testid="report-runs"
    >
      <legend className="px-1 text-sm font-medium">Runs ({runIds.length} chosen)</legend>
      <div className="flex flex-wrap gap-2">
        <TextInput
          aria-label="Filter runs"
          placeholder="Filter runs"
          className="!w-48 !py-1 text-xs"
          value={filter}
          onChange={(event) => setFilter(event.target.value)}
        />
        <Button
          variant="secondary"
          className="!py-1 text-xs"
          onClick={() => onChange([...new Set([...runIds, ...shown.map((run) => run.id)])])}
          data-testid="runs-add-shown"
        >
          Add all shown
        </Button>
        <Button variant="secondary" className="!py-1 text-xs" onClick={() => onChange([])}>
          Clear
        </Button>
      </div>
      <div className="max-h-64 overflow-auto text-xs">
        {experiments.map((experiment) => (
          <div key={experiment} className="mb-2">
            <p className="font-medium text-slate-600 dark:text-slate-400">{experiment}</p>
            <div className="grid grid-cols-2 gap-x-3 sm:grid-cols-3">
              {shown
                .filter((run) => run.experiment === experiment)
                .map((run) => (
                  <Check
                    key={run.id}
                    label={`${run.name} (${run.status})`}
                    checked={chosen.has(run.id)}
                    onChange={(checked) =>
                      onChange(checked ? [...runIds, run.id] : runIds.filter((id) => id !== run.id))
                    }
                  />
                ))}
            </div>
          </div>
        ))}
        {candidates.data?.length === 0 ? <p className="text-slate-500">This project has no runs yet.</p> : null}
      </div>
    </fieldset>
  );
}

export function ReportEditor({
  projectId,
  report,
  onDone,
}: {
  projectId: string;
  report: ReportSummary;
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [title, setTitle] = useState(report.title);
  const [body, setBody] = useState(report.body);
  const [panelRows, setPanelRows] = useState(() => report.panels.map(keyedPanel));
  const panels = useMemo(() => panelRows.map((row) => row.panel), [panelRows]);
  const [runIds, setRunIds] = useState<string[]>(report.runIds);
  const [addKind, setAddKind] = useState<PanelKind>("curves");

  const content = useMemo(() => ({ panels, runIds }), [panels, runIds]);
  const settled = useSettled(content, 400);
  const preview = useQuery(
    trpc.report.preview.queryOptions({ projectId, ...settled }, { placeholderData: keepPreviousData }),
  );

  const save = useMutation(
    trpc.report.update.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.report.pathKey() });
        onDone();
      },
    }),
  );
  const remove = useMutation(
    trpc.report.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.report.list.pathKey() });
        router.push(`/projects/${projectId}/reports`);
      },
    }),
  );
  // What a curves panel can group by: the parameters of the runs the preview read.
  const previewRuns = preview.data?.runs;
  const paramKeys = useMemo(() => groupableKeys(previewRuns ?? []), [previewRuns]);
  const metric = panels.find((panel) => panel.kind === "curves" || panel.kind === "scaling");
  const defaultMetric = metric && "metric" in metric ? metric.metric : "val/loss";

  return (
    <div className="space-y-6" data-testid="report-editor">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-semibold tracking-tight">Edit report</h1>
        <div className="flex gap-2">
          <Button
            variant="danger"
            onClick={() =>
              window.confirm("Delete this report and its share links?") && remove.mutate({ reportId: report.id })
            }
            disabled={remove.isPending}
          >
            Delete
          </Button>
          <Button variant="secondary" onClick={onDone}>
            Cancel
          </Button>
          <Button
            onClick={() => save.mutate({ reportId: report.id, title, body, panels, runIds })}
            disabled={save.isPending}
            data-testid="report-save"
          >
            Save
          </Button>
        </div>
      </div>
      <ErrorMessage>{save.error?.message ?? remove.error?.message}</ErrorMessage>
      <div className="grid gap-6 lg:grid-cols-2">
        <div className="space-y-4">
          <label className="block text-sm">
            <span className="mb-1 block font-medium">Title</span>
            <TextInput
              value={title}
              onChange={(event) => setTitle(event.target.value)}
              maxLength={200}
              data-testid="report-title-input"
            />
          </label>
          <label className="block text-sm">
            <span className="mb-1 block font-medium">Notes (Markdown: headings, lists, tables, links, code)</span>
            <textarea
              value={body}
              onChange={(event) => setBody(event.target.value)}
              rows={12}
              className="w-full rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-sm focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-slate-700 dark:bg-slate-900"
              data-testid="report-body-input"
            />
          </label>
          <fieldset
            className="space-y-2 rounded-xl border border-slate-200 p-3 dark:border-slate-800"
            data-testid="report-panel-list"
          >
            <legend className="px-1 text-sm font-medium">Panels</legend>
            {panelRows.map(({ key, panel }, index) => (
              <div
                key={key}
                className="flex flex-wrap items-center gap-2 border-b border-slate-100 pb-2 last:border-0 dark:border-slate-800"
                data-testid="report-panel-row"
              >
                <span className="w-20 text-xs font-medium">{panel.kind}</span>
                <PanelFields
                  panel={panel}
                  paramKeys={paramKeys}
                  onChange={(next) =>
                    setPanelRows(panelRows.map((row, at) => (at === index ? { key, panel: next } : row)))
                  }
                />
                <Button
                  variant="secondary"
                  className="!px-2 !py-0.5 text-xs"
                  aria-label={`Move panel ${index + 1} up`}
                  disabled={index === 0}
                  onClick={() =>
                    setPanelRows(
                      panelRows.map((row, at) =>
                        at === index - 1 ? panelRows[index]! : at === index ? panelRows[index - 1]! : row,
                      ),
                    )
                  }
                >
                  ↑
                </Button>
                <Button
                  variant="danger"
                  className="!px-2 !py-0.5 text-xs"
                  aria-label={`Remove panel ${index + 1}`}
                  onClick={() => setPanelRows(panelRows.filter((_, at) => at !== index))}
                >
                  Remove
                </Button>
              </div>
            ))}
            <div className="flex items-center gap-2">
              <Select
                aria-label="Panel kind"
                className="!w-auto !py-1 text-xs"
                value={addKind}
                onChange={(event) => setAddKind(panelKind(event.target.value))}
                data-testid="panel-kind"
              >
                {PANEL_DEFINITIONS.map((definition) => (
                  <option key={definition.kind} value={definition.kind}>
                    {definition.label}
                  </option>
                ))}
              </Select>
              <Button
                variant="secondary"
                className="!py-1 text-xs"
                onClick={() => setPanelRows([...panelRows, keyedPanel(createPanel(addKind, defaultMetric))])}
                data-testid="panel-add"
              >
                Add panel
              </Button>
            </div>
          </fieldset>
          <RunPicker projectId={projectId} runIds={runIds} onChange={setRunIds} />
        </div>
        <section className="min-w-0 space-y-4" aria-label="Preview" data-testid="report-preview">
          <p className="text-xs font-medium uppercase tracking-wide text-slate-500">Preview</p>
          <h2 className="text-2xl font-semibold tracking-tight break-words">{title}</h2>
          <ReportMarkdown source={body} />
          {preview.isError ? <ErrorMessage>Preview: {preview.error.message}</ErrorMessage> : null}
          {preview.data ? (
            <ReportPanels panels={preview.data.panels} runs={preview.data.runs} />
          ) : (
            <div aria-busy="true" className="h-48 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />
          )}
        </section>
      </div>
    </div>
  );
}
