"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Button, ErrorMessage, Field, Select, TextInput } from "~/app/_ui/ui.tsx";
import { useTRPC } from "~/app/_trpc/react.tsx";
import { DEFAULT_METRIC } from "~/server/domain/project/default-metric.ts";

type Goal = "min" | "max";

/**
 * The project's metric: what its run pages, runs tables, compare and scaling views lead with when a
 * run's spec names none (runs logged from Python, MLflow or HTTP). Editors change it; others read it.
 */
export function ProjectMetricForm({ projectId, canEdit }: { projectId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const saved = project.data?.metric ?? null;
  const [name, setName] = useState(saved?.name ?? "");
  const [goal, setGoal] = useState<Goal>(saved?.goal ?? "min");
  useEffect(() => {
    setName(saved?.name ?? "");
    setGoal(saved?.goal ?? "min");
  }, [saved?.name, saved?.goal]);
  const save = useMutation(
    trpc.project.setMetric.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.project.get.queryKey({ projectId }) }),
    }),
  );
  const current = saved ?? DEFAULT_METRIC;
  const summary = `${current.name}, ${current.goal === "min" ? "lower" : "higher"} is better${saved ? "" : " (default)"}`;

  return (
    <details className="mb-6 rounded-xl border border-slate-200 bg-white p-4 text-sm dark:border-slate-800 dark:bg-slate-900">
      <summary className="cursor-pointer rounded font-medium focus-visible:outline-2 focus-visible:outline-indigo-500">
        Metric: <span data-testid="project-metric">{summary}</span>
      </summary>
      <p className="mt-2 max-w-2xl text-slate-600 dark:text-slate-400">
        Run pages, runs tables, compare and the scaling view lead with this key when a run&apos;s spec names no metric
        (runs logged from Python, MLflow or the HTTP API have no spec).
      </p>
      {canEdit ? (
        <form
          className="mt-3 flex flex-wrap items-end gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            save.mutate({ projectId, metric: { name, goal } });
          }}
        >
          <div className="min-w-48 flex-1">
            <Field label="Metric key">
              <TextInput
                value={name}
                onChange={(event) => setName(event.target.value)}
                placeholder={DEFAULT_METRIC.name}
                maxLength={200}
                required
                data-testid="project-metric-name"
              />
            </Field>
          </div>
          <Field label="Better when">
            <Select
              value={goal}
              onChange={(event) => setGoal(event.target.value === "max" ? "max" : "min")}
              data-testid="project-metric-goal"
            >
              <option value="min">lower</option>
              <option value="max">higher</option>
            </Select>
          </Field>
          <Button type="submit" disabled={save.isPending} data-testid="project-metric-save">
            Save
          </Button>
          {saved ? (
            <Button
              variant="secondary"
              disabled={save.isPending}
              onClick={() => save.mutate({ projectId, metric: null })}
              data-testid="project-metric-clear"
            >
              Use {DEFAULT_METRIC.name}
            </Button>
          ) : null}
        </form>
      ) : null}
      <ErrorMessage>{save.error?.message}</ErrorMessage>
    </details>
  );
}
