"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../../_trpc/react.tsx";
import { Button, Card, ErrorMessage, Field, Select, TextInput } from "../../_ui/ui.tsx";

type Role = "viewer" | "editor" | "admin";
const ROLES: Role[] = ["viewer", "editor", "admin"];

function Members({ teamId, isAdmin, currentUserId }: { teamId: string; isAdmin: boolean; currentUserId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const members = useQuery(trpc.team.members.queryOptions({ teamId }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.team.members.queryKey() });
  const changeRole = useMutation(trpc.team.changeRole.mutationOptions({ onSettled: refresh }));
  const remove = useMutation(trpc.team.removeMember.mutationOptions({ onSettled: refresh }));
  const unlock = useMutation(trpc.team.unlockSignIn.mutationOptions({ onSettled: refresh }));
  return (
    <Card title="Members" testId="members">
      {members.isPending ? <p className="text-sm text-slate-500">Loading…</p> : null}
      <ErrorMessage>
        {members.error?.message ?? changeRole.error?.message ?? remove.error?.message ?? unlock.error?.message}
      </ErrorMessage>
      <ul className="divide-y divide-slate-100 dark:divide-slate-800">
        {members.data?.map((member) => (
          <li key={member.userId} className="flex flex-wrap items-center gap-3 py-2 text-sm" data-testid="member-row">
            <span className="font-medium">{member.name}</span>
            <span className="text-slate-500">{member.email}</span>
            {member.signInLimited ? (
              <span className="text-xs text-amber-700 dark:text-amber-400" data-testid="sign-in-limited">
                sign-in slowed after failed attempts
              </span>
            ) : null}
            <span className="ml-auto">
              {isAdmin ? (
                <Select
                  aria-label={`Role of ${member.name}`}
                  value={member.role}
                  onChange={(event) =>
                    changeRole.mutate({ teamId, userId: member.userId, role: event.target.value as Role })
                  }
                  className="w-28"
                >
                  {ROLES.map((role) => (
                    <option key={role}>{role}</option>
                  ))}
                </Select>
              ) : (
                <span data-testid="member-role">{member.role}</span>
              )}
            </span>
            {isAdmin && member.signInLimited ? (
              <Button onClick={() => unlock.mutate({ teamId, userId: member.userId })} data-testid="unlock-sign-in">
                Unlock sign-in
              </Button>
            ) : null}
            {isAdmin && member.userId !== currentUserId ? (
              <Button variant="danger" onClick={() => remove.mutate({ teamId, userId: member.userId })}>
                Remove
              </Button>
            ) : null}
          </li>
        ))}
      </ul>
    </Card>
  );
}

function Invites({ teamId }: { teamId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const invites = useQuery(trpc.invite.list.queryOptions({ teamId }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.invite.list.queryKey() });
  const [role, setRole] = useState<Role>("viewer");
  const [hours, setHours] = useState(24 * 7);
  const [link, setLink] = useState<string | null>(null);
  const create = useMutation(
    trpc.invite.create.mutationOptions({
      onSuccess: (created) => {
        setLink(`${window.location.origin}${created.path}`);
        void refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.invite.revoke.mutationOptions({ onSettled: refresh }));
  return (
    <Card title="Invite links" testId="invites">
      <form
        className="flex flex-wrap items-end gap-3"
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate({ teamId, role, expiresInHours: hours });
        }}
      >
        <Field label="Role">
          <Select name="role" value={role} onChange={(event) => setRole(event.target.value as Role)} className="w-32">
            {ROLES.map((option) => (
              <option key={option}>{option}</option>
            ))}
          </Select>
        </Field>
        <Field label="Expires after (hours)">
          <TextInput
            type="number"
            min={1}
            max={2160}
            value={hours}
            onChange={(event) => setHours(Number(event.target.value))}
            className="w-32"
          />
        </Field>
        <Button type="submit" disabled={create.isPending}>
          Create invite link
        </Button>
      </form>
      {link ? (
        <div className="mt-3 rounded-md bg-emerald-50 p-3 text-sm dark:bg-emerald-950">
          <p>Send this link; it works once and is shown only now:</p>
          <code data-testid="invite-link" className="mt-1 block break-all font-mono text-xs">
            {link}
          </code>
        </div>
      ) : null}
      <ErrorMessage>{create.error?.message ?? revoke.error?.message}</ErrorMessage>
      <ul className="mt-3 divide-y divide-slate-100 text-sm dark:divide-slate-800">
        {invites.data?.map((invite) => {
          const state = invite.revokedAt
            ? "revoked"
            : invite.acceptedAt
              ? "used"
              : invite.expiresAt < new Date()
                ? "expired"
                : "pending";
          return (
            <li key={invite.id} className="flex items-center gap-3 py-2" data-testid="invite-row" data-state={state}>
              <span>{invite.role}</span>
              <span className="text-slate-500">expires {invite.expiresAt.toLocaleString()}</span>
              <span className="ml-auto text-xs uppercase text-slate-500">{state}</span>
              {state === "pending" ? (
                <Button variant="danger" onClick={() => revoke.mutate({ teamId, inviteId: invite.id })}>
                  Revoke
                </Button>
              ) : null}
            </li>
          );
        })}
      </ul>
    </Card>
  );
}

function ApiKeys({ teamId }: { teamId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.apiKey.list.queryOptions({ teamId }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.apiKey.list.queryKey() });
  const [name, setName] = useState("");
  const [scope, setScope] = useState<"ingest" | "worker" | "full">("ingest");
  const [secret, setSecret] = useState<string | null>(null);
  const create = useMutation(
    trpc.apiKey.create.mutationOptions({
      onSuccess: (created) => {
        setSecret(created.key);
        setName("");
        void refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.apiKey.revoke.mutationOptions({ onSettled: refresh }));
  return (
    <Card title="API keys" testId="api-keys">
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
        For the CLI, the SDK and workers on other hosts. <em>ingest</em> logs metrics to runs, <em>worker</em> claims
        and runs jobs, <em>full</em> acts as an editor.
      </p>
      <form
        className="flex flex-wrap items-end gap-3"
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate({ teamId, name, scope });
        }}
      >
        <Field label="Name">
          <TextInput value={name} onChange={(event) => setName(event.target.value)} required className="w-48" />
        </Field>
        <Field label="Scope">
          <Select value={scope} onChange={(event) => setScope(event.target.value as typeof scope)} className="w-32">
            <option>ingest</option>
            <option>worker</option>
            <option>full</option>
          </Select>
        </Field>
        <Button type="submit" disabled={create.isPending}>
          Create key
        </Button>
      </form>
      {secret ? (
        <div className="mt-3 rounded-md bg-emerald-50 p-3 text-sm dark:bg-emerald-950">
          <p>Copy the key now; it is not shown again:</p>
          <code data-testid="new-api-key" className="mt-1 block break-all font-mono text-xs">
            {secret}
          </code>
        </div>
      ) : null}
      <ErrorMessage>{create.error?.message ?? revoke.error?.message}</ErrorMessage>
      <ul className="mt-3 divide-y divide-slate-100 text-sm dark:divide-slate-800">
        {keys.data?.map((key) => (
          <li
            key={key.id}
            className="flex flex-wrap items-center gap-3 py-2"
            data-testid="api-key-row"
            data-state={key.revokedAt ? "revoked" : "active"}
          >
            <span className="font-medium">{key.name}</span>
            <code className="font-mono text-xs">{key.prefix}…</code>
            <span className="text-xs text-slate-500">{key.scope}</span>
            <span className="text-xs text-slate-500">
              {key.lastUsedAt ? `last used ${key.lastUsedAt.toLocaleString()}` : "never used"}
            </span>
            <span className="ml-auto text-xs uppercase text-slate-500">{key.revokedAt ? "revoked" : "active"}</span>
            {key.revokedAt ? null : (
              <Button variant="danger" onClick={() => revoke.mutate({ teamId, keyId: key.id })}>
                Revoke
              </Button>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}

export function TeamSettings({
  teamId,
  teamName,
  role,
  currentUserId,
}: {
  teamId: string;
  teamName: string;
  role: Role;
  currentUserId: string;
}) {
  const isAdmin = role === "admin";
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{teamName}</h1>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
          Your role: <strong data-testid="my-role">{role}</strong>. Viewers read; editors apply specs, cancel runs and
          write reports; admins manage members and keys.
        </p>
      </div>
      <Members teamId={teamId} isAdmin={isAdmin} currentUserId={currentUserId} />
      {isAdmin ? <Invites teamId={teamId} /> : null}
      {isAdmin ? <ApiKeys teamId={teamId} /> : null}
    </div>
  );
}
