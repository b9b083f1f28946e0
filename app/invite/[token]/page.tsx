import Link from "next/link";
import { AcceptInviteButton } from "../../_features/team/accept-invite-button.tsx";
import { EmptyState } from "../../_ui/empty-state.tsx";
import { getViewer } from "../../_lib/viewer.ts";
import { getQueryClient, trpc } from "../../_trpc/server.tsx";

export const dynamic = "force-dynamic";
export const metadata = { title: "Invitation" };

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const viewer = await getViewer();
  const preview = await getQueryClient()
    .fetchQuery(trpc.invite.preview.queryOptions({ token }))
    .catch(() => null);
  if (!preview) {
    return (
      <EmptyState title="This invite link does not work" testId="invite-invalid">
        <p>It may have expired, been revoked or already been used. Ask a team admin for a new one.</p>
      </EmptyState>
    );
  }
  const query = `?invite=${encodeURIComponent(token)}`;
  return (
    <div className="mx-auto max-w-md space-y-4 text-center">
      <h1 className="text-2xl font-semibold tracking-tight">Join {preview.teamName}</h1>
      <p className="text-sm text-slate-600 dark:text-slate-400">
        You are invited as <strong data-testid="invite-role">{preview.role}</strong>. The link expires{" "}
        {preview.expiresAt.toUTCString()}.
      </p>
      {viewer.user ? (
        <AcceptInviteButton token={token} teamName={preview.teamName} />
      ) : (
        <p className="text-sm">
          <Link className="text-indigo-600 underline dark:text-indigo-400" href={`/sign-up${query}`}>
            Create an account
          </Link>{" "}
          or{" "}
          <Link className="text-indigo-600 underline dark:text-indigo-400" href={`/sign-in${query}`}>
            sign in
          </Link>{" "}
          to accept.
        </p>
      )}
    </div>
  );
}
