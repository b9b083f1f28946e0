"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { useTRPC } from "../../_trpc/react.tsx";
import { Button, ErrorMessage, TextInput } from "../../_ui/ui.tsx";
import { rememberTeam } from "./team-cookie.ts";

export function CreateTeamForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const [name, setName] = useState("");
  const create = useMutation(
    trpc.team.create.mutationOptions({
      onSuccess: async (team) => {
        await rememberTeam(team.id);
        router.refresh();
      },
    }),
  );
  return (
    <form
      className="mx-auto flex max-w-sm gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate({ name });
      }}
    >
      <TextInput
        aria-label="Team name"
        placeholder="Team name"
        value={name}
        onChange={(event) => setName(event.target.value)}
        required
      />
      <Button type="submit" disabled={create.isPending}>
        Create team
      </Button>
      <ErrorMessage>{create.error?.message}</ErrorMessage>
    </form>
  );
}
