"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { useTRPC } from "../../_trpc/react.tsx";
import { Command, EmptyState } from "../../_ui/empty-state.tsx";
import { Button, ErrorMessage, TextInput } from "../../_ui/ui.tsx";

function NewProjectForm({ teamId }: { teamId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const create = useMutation(
    trpc.project.create.mutationOptions({
      onSuccess: async () => {
        setName("");
        await queryClient.invalidateQueries({ queryKey: trpc.project.list.queryKey() });
      },
    }),
  );
  return (
    <form
      className="flex flex-wrap items-start gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate({ teamId, name });
      }}
    >
      <TextInput
        aria-label="New project name"
        placeholder="New project name"
        value={name}
        onChange={(event) => setName(event.target.value)}
        className="max-w-xs"
        required
      />
      <Button type="submit" disabled={create.isPending}>
        New project
      </Button>
      <div className="w-full">
        <ErrorMessage>{create.error?.message}</ErrorMessage>
      </div>
    </form>
  );
}

export function ProjectList({ teamId, canEdit }: { teamId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const projects = useQuery(trpc.project.list.queryOptions({ teamId, limit: 50 }));
  const health = useQuery(trpc.health.status.queryOptions());

  if (projects.isPending) {
    return <div aria-busy className="h-32 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;
  }
  if (projects.isError) {
    return (
      <div
        role="alert"
        className="rounded-xl border border-red-300 bg-red-50 p-4 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
      >
        Could not load projects: {projects.error.message}
      </div>
    );
  }

  const noWorker = health.data && health.data.workers.alive === 0;
  return (
    <div className="space-y-6">
      {canEdit ? <NewProjectForm teamId={teamId} /> : null}
      {noWorker ? (
        <EmptyState title="No worker is running" testId="empty-workers">
          <p>
            Queued runs wait until a worker claims them. <code>npm start</code> starts one; on another machine, start
            one with:
          </p>
          <Command>npx scaleboard worker</Command>
        </EmptyState>
      ) : null}
      {projects.data.items.length === 0 ? (
        <EmptyState title="No projects yet" testId="empty-projects">
          <p>
            Describe an experiment in a YAML spec (dataset, model, sweep), then apply it: the project, the experiment
            and its runs appear here.
          </p>
          <Command>npx scaleboard apply examples/mlp-width-scaling.yaml</Command>
        </EmptyState>
      ) : (
        <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="project-list">
          {projects.data.items.map((project) => (
            <li
              key={project.id}
              className="relative rounded-xl border border-slate-200 bg-white p-4 transition-colors focus-within:border-indigo-400 hover:border-indigo-300 dark:border-slate-800 dark:bg-slate-900 dark:hover:border-indigo-700"
            >
              <h2 className="font-medium">
                {/* The link covers the whole card, so the card is one click and one tab stop. */}
                <Link
                  href={`/projects/${project.id}`}
                  className="rounded after:absolute after:inset-0 after:rounded-xl focus-visible:outline-2 focus-visible:outline-indigo-500"
                >
                  {project.name}
                </Link>
              </h2>
              {project.description ? (
                <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">{project.description}</p>
              ) : null}
              <p className="mt-3 text-xs text-slate-500">
                {project.experimentCount} experiment{project.experimentCount === 1 ? "" : "s"} · updated{" "}
                {project.updatedAt.toLocaleString()}
              </p>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
