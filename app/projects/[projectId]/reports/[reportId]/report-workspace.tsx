"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";
import { Button, Card, ErrorMessage, Select } from "~/app/_ui/ui.tsx";
import { useTRPC } from "~/app/_trpc/react.tsx";
import { ReportDocument } from "~/app/_features/reports/report-document.tsx";
import { ReportEditor } from "./report-editor.tsx";

/** Where share links point: SCALEBOARD_PUBLIC_URL when set (else the address in the editor's browser), and whether sign-in is off. */
type Sharing = { publicUrl: string | null; localMode: boolean };

type Props = { projectId: string; reportId: string; canEdit: boolean; sharing: Sharing };

export function ReportWorkspace(props: Props) {
  return (
    <Suspense
      fallback={<div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />}
    >
      <ReportWorkspaceInner {...props} />
    </Suspense>
  );
}

function ReportWorkspaceInner({ projectId, reportId, canEdit, sharing }: Props) {
  const trpc = useTRPC();
  const router = useRouter();
  const search = useSearchParams();
  const editing = canEdit && search.get("edit") === "1";
  const setEditing = (on: boolean) =>
    router.replace(`/projects/${projectId}/reports/${reportId}${on ? "?edit=1" : ""}`, { scroll: false });
  const report = useQuery(trpc.report.get.queryOptions({ reportId }));

  if (report.isError) return <ErrorMessage>Could not load the report: {report.error.message}</ErrorMessage>;
  if (!report.data)
    return <div aria-busy="true" className="h-64 animate-pulse rounded-xl bg-slate-200 dark:bg-slate-800" />;
  const { report: summary, view } = report.data;

  if (editing) return <ReportEditor projectId={projectId} report={summary} onDone={() => setEditing(false)} />;
  return (
    <div className="space-y-6">
      {summary.frozen && summary.publishedAt && summary.updatedAt > summary.publishedAt ? (
        <p
          role="note"
          className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 print:hidden dark:bg-amber-950 dark:text-amber-100"
          data-testid="report-draft-newer"
        >
          Readers see the version frozen when it was published; the draft has changed since. Publish again to update it.
        </p>
      ) : null}
      <ReportDocument
        view={view}
        actions={
          canEdit ? (
            <Button onClick={() => setEditing(true)} data-testid="report-edit">
              Edit
            </Button>
          ) : null
        }
        // Publishing and sharing come before the report, not after a long page of panels.
        beforeBody={
          canEdit ? (
            <SharingCard
              reportId={reportId}
              published={summary.publishedAt !== null}
              frozen={summary.frozen}
              sharing={sharing}
            />
          ) : null
        }
      />
    </div>
  );
}

const EXPIRY_CHOICES = [
  { label: "Never (until revoked)", hours: null },
  { label: "1 day", hours: 24 },
  { label: "7 days", hours: 24 * 7 },
  { label: "30 days", hours: 24 * 30 },
] as const;

/** Loopback addresses: a link to one opens only on the machine it was made on. */
function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

function SharingCard({
  reportId,
  published,
  frozen,
  sharing,
}: {
  reportId: string;
  published: boolean;
  frozen: boolean;
  sharing: Sharing;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const links = useQuery(trpc.report.links.queryOptions({ reportId }));
  const [expiry, setExpiry] = useState<string>("none");
  const [created, setCreated] = useState<string | null>(null);
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.report.pathKey() });
  };
  const publish = useMutation(trpc.report.publish.mutationOptions({ onSuccess: refresh }));
  const unpublish = useMutation(trpc.report.unpublish.mutationOptions({ onSuccess: refresh }));
  const createLink = useMutation(
    trpc.report.createLink.mutationOptions({
      onSuccess: async (result) => {
        setCreated(`${(sharing.publicUrl ?? window.location.origin).replace(/\/$/, "")}${result.path}`);
        await refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.report.revokeLink.mutationOptions({ onSuccess: refresh }));
  const error = publish.error ?? unpublish.error ?? createLink.error ?? revoke.error;
  const now = Date.now();

  return (
    <div className="print:hidden">
      <Card title="Publish and share" testId="report-sharing">
        <div className="space-y-4 text-sm">
          <p data-testid="report-publish-state">
            {published
              ? frozen
                ? "Published, frozen: readers see the data as it was when you published."
                : "Published, live: readers see current data."
              : "Draft: share links do not open it until it is published."}
          </p>
          <div className="flex flex-wrap gap-2">
            <Button
              onClick={() => publish.mutate({ reportId, mode: "frozen" })}
              disabled={publish.isPending}
              data-testid="report-publish-frozen"
            >
              {published && frozen ? "Freeze again with current data" : "Publish frozen"}
            </Button>
            <Button
              variant="secondary"
              onClick={() => publish.mutate({ reportId, mode: "live" })}
              disabled={publish.isPending}
              data-testid="report-publish-live"
            >
              Publish live
            </Button>
            {published ? (
              <Button
                variant="danger"
                onClick={() => unpublish.mutate({ reportId })}
                disabled={unpublish.isPending}
                data-testid="report-unpublish"
              >
                Unpublish
              </Button>
            ) : null}
          </div>
          {published ? (
            <form
              className="flex flex-wrap items-end gap-2"
              onSubmit={(event) => {
                event.preventDefault();
                const hours =
                  EXPIRY_CHOICES.find((choice) => String(choice.hours ?? "none") === expiry)?.hours ?? undefined;
                createLink.mutate({ reportId, expiresInHours: hours ?? undefined });
              }}
            >
              <label className="text-sm">
                <span className="mb-1 block font-medium">Link expires</span>
                <Select value={expiry} onChange={(event) => setExpiry(event.target.value)} data-testid="share-expiry">
                  {EXPIRY_CHOICES.map((choice) => (
                    <option key={choice.label} value={String(choice.hours ?? "none")}>
                      {choice.label}
                    </option>
                  ))}
                </Select>
              </label>
              <Button type="submit" disabled={createLink.isPending} data-testid="share-create">
                Create read-only link
              </Button>
            </form>
          ) : null}
          {created ? (
            <div className="rounded-md border border-emerald-300 bg-emerald-50 p-3 dark:border-emerald-800 dark:bg-emerald-950">
              <p className="mb-1 font-medium">
                Anyone with this link can read the report, without signing in. It is shown only now:
              </p>
              <div className="flex flex-wrap items-center gap-2">
                <code className="min-w-0 break-all" data-testid="share-url">
                  {created}
                </code>
                <Button variant="secondary" onClick={() => void navigator.clipboard?.writeText(created)}>
                  Copy
                </Button>
              </div>
              {isLoopback(created) ? (
                <p
                  role="note"
                  className="mt-2 rounded-md bg-amber-100 px-2 py-1.5 text-amber-900 dark:bg-amber-900/40 dark:text-amber-100"
                  data-testid="share-local-notice"
                >
                  This link points at {new URL(created).origin} and opens only on this computer.{" "}
                  {sharing.localMode ? (
                    <>
                      Local mode listens on 127.0.0.1 only: to share with others, run Scaleboard with{" "}
                      <code className="font-mono">SCALEBOARD_AUTH=on</code> on a machine they can reach and set{" "}
                      <code className="font-mono">SCALEBOARD_PUBLIC_URL</code> to the address they use.
                    </>
                  ) : (
                    <>
                      Set <code className="font-mono">SCALEBOARD_PUBLIC_URL</code> to the address your readers use
                      (https://scaleboard.example.com) and create the link again.
                    </>
                  )}
                </p>
              ) : null}
            </div>
          ) : null}
          <ErrorMessage>{error?.message}</ErrorMessage>
          {links.data && links.data.length > 0 ? (
            <div className="overflow-x-auto">
              <table className="w-full text-left text-xs" data-testid="share-links">
                <thead className="text-slate-500">
                  <tr>
                    <th className="py-1">Created</th>
                    <th className="py-1">Expires</th>
                    <th className="py-1">Last opened</th>
                    <th className="py-1">State</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {links.data.map((link) => {
                    const expired = link.expiresAt !== null && link.expiresAt.getTime() <= now;
                    return (
                      <tr
                        key={link.id}
                        data-testid="share-link"
                        className="border-t border-slate-100 dark:border-slate-800"
                      >
                        <td className="py-1">{link.createdAt.toLocaleString()}</td>
                        <td className="py-1">{link.expiresAt ? link.expiresAt.toLocaleString() : "never"}</td>
                        <td className="py-1">{link.lastViewedAt ? link.lastViewedAt.toLocaleString() : "not yet"}</td>
                        <td className="py-1">{link.revokedAt ? "revoked" : expired ? "expired" : "active"}</td>
                        <td className="py-1 text-right">
                          {link.revokedAt ? null : (
                            <Button
                              variant="danger"
                              onClick={() => revoke.mutate({ reportId, linkId: link.id })}
                              disabled={revoke.isPending}
                              data-testid="share-revoke"
                            >
                              Revoke
                            </Button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ) : null}
        </div>
      </Card>
    </div>
  );
}
