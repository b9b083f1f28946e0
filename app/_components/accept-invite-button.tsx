"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useTRPC } from "../_trpc/react.tsx";
import { Button, ErrorMessage } from "./ui.tsx";

export function AcceptInviteButton({ token, teamName }: { token: string; teamName: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const accept = useMutation(
    trpc.invite.accept.mutationOptions({
      onSuccess: (membership) => {
        document.cookie = `scaleboard-team=${membership.teamId}; path=/; max-age=31536000; samesite=lax`;
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
