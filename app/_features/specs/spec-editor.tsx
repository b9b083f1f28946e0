"use client";

import { keepPreviousData, skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { useTRPC } from "../../_trpc/react.tsx";
import { starterSpec } from "../../editor/_lib/starter-spec.ts";
import { PlanView } from "./plan-view.tsx";
import type { LocatedIssue, SpecEditorHandle } from "./spec-editor-codemirror.tsx";
import { SpecHistory } from "./spec-history.tsx";
import { Button, ErrorMessage } from "../../_ui/ui.tsx";

function EditorSkeleton() {
  return (
    <div
      role="status"
      aria-busy
      aria-label="Loading the editor"
      className="h-[32rem] animate-pulse rounded-lg border border-slate-200 bg-slate-100 dark:border-slate-800 dark:bg-slate-800"
    />
  );
}

// CodeMirror measures and edits the DOM from the moment it starts: it runs in the browser only.
const SpecCodeMirror = dynamic(() => import("./spec-editor-codemirror.tsx"), { ssr: false, loading: EditorSkeleton });

const VALIDATE_DELAY_MS = 400;

function useDebounced<T>(value: T, delayMs: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return debounced;
}

function issueText(issue: LocatedIssue): string {
  return `${issue.line ?? "?"}:${issue.column ?? "?"} ${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
}

function IssueList({
  issues,
  onPick,
  testId = "spec-issues",
}: {
  issues: readonly LocatedIssue[];
  onPick: (issue: LocatedIssue) => void;
  testId?: string;
}) {
  return (
    <ul
      data-testid={testId}
      className="space-y-1 rounded-lg border border-red-200 bg-red-50 p-2 text-sm dark:border-red-900 dark:bg-red-950/40"
    >
      {issues.map((issue) => (
        <li key={`${issue.path}:${issue.line}:${issue.column}:${issue.message}`} data-testid="spec-issue">
          <button
            type="button"
            onClick={() => onPick(issue)}
            className="w-full rounded px-2 py-1 text-left font-mono text-xs text-red-800 hover:bg-red-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-red-200 dark:hover:bg-red-900/50"
            title="Go to this line"
          >
            {issueText(issue)}
          </button>
        </li>
      ))}
    </ul>
  );
}

function Checkbox({
  label,
  checked,
  onChange,
  disabled,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
}) {
  return (
    <label className="flex items-start gap-2 text-sm">
      <input
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(event) => onChange(event.target.checked)}
        className="mt-0.5 h-4 w-4 rounded border-slate-300 accent-indigo-600 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-slate-600"
      />
      <span>{label}</span>
    </label>
  );
}

type SavedSpec = { experimentId: string; experimentName: string; projectName: string; version: number };

function SpecWorkspace({
  teamId,
  teamName,
  canApply,
  initialText,
  saved,
}: {
  teamId: string;
  teamName: string;
  canApply: boolean;
  initialText: string;
  saved: SavedSpec | null;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const editor = useRef<SpecEditorHandle | null>(null);
  const [text, setText] = useState(initialText);
  const [force, setForce] = useState(false);
  const [retryFailed, setRetryFailed] = useState(false);
  const [prune, setPrune] = useState(false);
  const [loadedVersion, setLoadedVersion] = useState<number | null>(null);

  const checkedText = useDebounced(text, VALIDATE_DELAY_MS);
  const validation = useQuery({
    ...trpc.spec.validate.queryOptions({ source: checkedText, force }),
    placeholderData: keepPreviousData,
    // The answer depends on the text alone.
    staleTime: Infinity,
  });
  const checking = checkedText !== text || validation.isFetching;
  const issues = validation.data?.issues ?? [];
  const issuesText = validation.data && !validation.isPlaceholderData ? checkedText : null;

  // The text (and force flag) the shown plan was made for; Apply sends exactly that.
  const [planned, setPlanned] = useState<{ source: string; force: boolean } | null>(null);
  const plan = useQuery({
    ...trpc.spec.plan.queryOptions(planned ? { teamId, source: planned.source, force: planned.force } : skipToken),
    staleTime: 0,
    retry: false,
  });
  const planIsCurrent =
    planned !== null && planned.source === text && planned.force === force && plan.isSuccess && !plan.isFetching;

  // The plan (or why it failed) renders below the editor, often below the fold: the answer to a press of
  // Plan is scrolled into view once it comes (the time of the press tells it from an older answer).
  const planResult = useRef<HTMLDivElement | null>(null);
  const [revealAfter, setRevealAfter] = useState<number | null>(null);
  const answeredAt = Math.max(plan.dataUpdatedAt, plan.errorUpdatedAt);
  useEffect(() => {
    if (revealAfter === null || plan.isFetching || answeredAt < revealAfter) return;
    setRevealAfter(null);
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    planResult.current?.scrollIntoView({ behavior: still ? "auto" : "smooth", block: "nearest" });
  }, [revealAfter, plan.isFetching, answeredAt]);

  const apply = useMutation(
    trpc.spec.applySpec.mutationOptions({
      onSuccess: async () => {
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.spec.plan.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.spec.versions.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.spec.get.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.experiment.list.queryKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.project.list.queryKey() }),
        ]);
      },
    }),
  );

  function makePlan() {
    setRevealAfter(Date.now());
    if (planned && planned.source === text && planned.force === force) void plan.refetch();
    else setPlanned({ source: text, force });
  }

  function applyPlan() {
    if (!planned || !planIsCurrent) return;
    apply.mutate({ teamId, source: planned.source, force: planned.force, retryFailed, prune });
  }

  const focusIssue = (issue: LocatedIssue) => editor.current?.focusAt(issue.line, issue.column);
  const planIssues = plan.error?.data?.specIssues ?? null;
  const applyIssues = apply.error?.data?.specIssues ?? null;
  const tooLarge = issues.some((issue) => issue.message.includes("--force"));

  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">
          {saved ? `Edit spec: ${saved.experimentName}` : "New experiment"}
        </h1>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
          {saved
            ? `Project ${saved.projectName} · latest spec version ${saved.version}${loadedVersion ? ` · version ${loadedVersion} loaded into the editor` : ""}. Plan to see what changes, then apply to queue the new runs.`
            : `Describe the dataset, model, training and sweep in YAML. Plan shows the runs it would create in ${teamName}; Apply queues them.`}
        </p>
      </div>

      <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_18rem]">
        <div className="min-w-0 space-y-3">
          <SpecCodeMirror
            initialText={initialText}
            onChange={setText}
            issues={issues}
            issuesText={issuesText}
            handleRef={editor}
            label="Experiment spec (YAML)"
          />
          <p className="text-xs text-slate-500 dark:text-slate-400">
            Ctrl-Space completes keys and values from the spec schema. Tab indents; press Esc then Tab to move on from
            the editor.
          </p>
          <div aria-live="polite" className="space-y-2 text-sm" data-testid="spec-status">
            {validation.isError ? (
              <ErrorMessage>Could not check the spec: {validation.error.message}</ErrorMessage>
            ) : checking && !validation.data ? (
              <p className="text-slate-500">Checking…</p>
            ) : validation.data?.ok ? (
              <p className="text-emerald-700 dark:text-emerald-400">
                {checking ? <span className="text-slate-500">Checking… </span> : null}
                Valid spec:{" "}
                <span data-testid="cell-count" className="font-medium">
                  {validation.data.cellCount} {validation.data.cellCount === 1 ? "cell" : "cells"}
                </span>
              </p>
            ) : validation.data ? (
              <>
                <p className="text-red-700 dark:text-red-300">
                  {checking ? <span className="text-slate-500">Checking… </span> : null}
                  {issues.length} {issues.length === 1 ? "problem" : "problems"} in the spec
                </p>
                <IssueList issues={issues} onPick={focusIssue} />
              </>
            ) : null}
          </div>
          {tooLarge || force ? (
            <Checkbox label="Allow a very large sweep (force)" checked={force} onChange={setForce} />
          ) : null}
        </div>

        <aside aria-label="Plan and apply" className="space-y-4">
          <div className="space-y-3 rounded-xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
            <Button onClick={makePlan} disabled={plan.isFetching} className="w-full">
              Plan
            </Button>
            <p className="text-xs text-slate-500 dark:text-slate-400">
              Compares the spec with the experiment&apos;s runs; nothing is written.
            </p>
            {canApply ? (
              <div className="space-y-3 border-t border-slate-200 pt-3 dark:border-slate-800">
                <Checkbox label="Retry failed runs" checked={retryFailed} onChange={setRetryFailed} />
                <Checkbox label="Prune removed runs (cancel queued ones)" checked={prune} onChange={setPrune} />
                <Button
                  onClick={applyPlan}
                  disabled={!planIsCurrent || apply.isPending}
                  className="w-full"
                  aria-describedby="apply-hint"
                >
                  {apply.isPending ? "Applying…" : "Apply"}
                </Button>
                <p id="apply-hint" className="text-xs text-slate-500 dark:text-slate-400">
                  {planIsCurrent
                    ? "Queues the new runs and records this text as a spec version."
                    : "Plan the current text first."}
                </p>
              </div>
            ) : (
              <p
                role="note"
                data-testid="apply-readonly-note"
                className="border-t border-slate-200 pt-3 text-sm text-slate-600 dark:border-slate-800 dark:text-slate-400"
              >
                You are a viewer in {teamName}: you can plan, but only editors and admins can apply a spec.
              </p>
            )}
          </div>

          {apply.data ? (
            <div
              role="status"
              data-testid="apply-result"
              className="space-y-1 rounded-xl border border-emerald-300 bg-emerald-50 p-4 text-sm text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950/50 dark:text-emerald-100"
            >
              <p className="font-medium">
                Applied: {apply.data.created.length} {apply.data.created.length === 1 ? "run" : "runs"} queued, version{" "}
                {apply.data.specVersion}
                {apply.data.retried.length ? `, ${apply.data.retried.length} retried` : ""}
                {apply.data.canceled.length ? `, ${apply.data.canceled.length} canceled` : ""}
              </p>
              <p className="flex flex-wrap gap-x-3">
                <Link
                  href={`/projects/${apply.data.projectId}`}
                  className="font-medium underline underline-offset-2 focus-visible:outline-2 focus-visible:outline-indigo-500"
                >
                  Open the project
                </Link>
                {saved?.experimentId !== apply.data.experimentId ? (
                  <Link
                    href={`/editor?experiment=${apply.data.experimentId}`}
                    className="underline underline-offset-2 focus-visible:outline-2 focus-visible:outline-indigo-500"
                  >
                    Spec history
                  </Link>
                ) : null}
              </p>
            </div>
          ) : null}
          {apply.error ? (
            <div className="space-y-2">
              <ErrorMessage>Apply failed: {apply.error.message.split("\n")[0]}</ErrorMessage>
              {applyIssues?.length ? (
                <IssueList issues={applyIssues} onPick={focusIssue} testId="apply-issues" />
              ) : null}
            </div>
          ) : null}
        </aside>
      </div>

      <div ref={planResult} data-testid="plan-result" className="scroll-mt-4 scroll-mb-4 empty:hidden">
        {plan.isError ? (
          <div className="space-y-2">
            <ErrorMessage>
              Could not plan this spec:{" "}
              {planIssues?.length
                ? `${planIssues.length} problem${planIssues.length === 1 ? "" : "s"}`
                : plan.error.message}
            </ErrorMessage>
            {planIssues?.length ? <IssueList issues={planIssues} onPick={focusIssue} testId="plan-issues" /> : null}
          </div>
        ) : plan.data ? (
          <PlanView plan={plan.data} stale={!planIsCurrent && !plan.isFetching} />
        ) : plan.isFetching ? (
          <div
            role="status"
            aria-busy
            aria-label="Planning"
            className="h-40 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800"
          />
        ) : null}
      </div>

      {saved ? (
        <SpecHistory
          experimentId={saved.experimentId}
          onLoadVersion={(source, version) => {
            editor.current?.replaceText(source);
            setLoadedVersion(version);
          }}
        />
      ) : null}
    </div>
  );
}

/** The spec editor: a new experiment from the starter spec, or an experiment's latest spec with its history. */
export function SpecEditor({
  teamId,
  teamName,
  canApply,
  experimentId,
  projectName,
}: {
  teamId: string;
  teamName: string;
  canApply: boolean;
  experimentId: string | null;
  projectName: string | null;
}) {
  const trpc = useTRPC();
  const saved = useQuery(trpc.spec.get.queryOptions(experimentId ? { experimentId } : skipToken));

  if (experimentId && saved.isPending) return <EditorSkeleton />;
  if (experimentId && saved.isError) {
    return (
      <div className="space-y-3">
        <ErrorMessage>Could not load this experiment&apos;s spec: {saved.error.message}</ErrorMessage>
        <Link
          href="/editor"
          className="text-sm font-medium text-indigo-600 underline underline-offset-2 dark:text-indigo-400"
        >
          Start a new experiment instead
        </Link>
      </div>
    );
  }
  const spec = experimentId ? saved.data : undefined;
  return (
    <SpecWorkspace
      key={experimentId ?? "new"}
      teamId={teamId}
      teamName={teamName}
      canApply={canApply}
      initialText={spec?.source ?? starterSpec(projectName)}
      saved={
        spec && experimentId
          ? {
              experimentId,
              experimentName: spec.experiment.name,
              projectName: spec.experiment.project.name,
              version: spec.version,
            }
          : null
      }
    />
  );
}
