"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useTRPC } from "../../_trpc/react.tsx";
import { Button, ErrorMessage } from "../../_ui/ui.tsx";
import { rememberTeam } from "./team-cookie.ts";

export function AcceptInviteButton({ token, teamName }: { token: string; teamName: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const accept = useMutation(
    trpc.invite.accept.mutationOptions({
      onSuccess: async (membership) => {
        await rememberTeam(membership.teamId);
        router.push("/");
        router.refresh();
      },
    }),
  );
  return (
    <div className="space-y-2">
      <Button onClick={() => accept.mutate({ token })} disabled={accept.isPending}>
        Join {teamName}
      </Button>
      <ErrorMessage>{accept.error?.message}</ErrorMessage>
    </div>
  );
}
