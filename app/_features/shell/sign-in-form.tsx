"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { authClient, INVITE_HEADER } from "../../_lib/auth-client.ts";
import { Button, ErrorMessage, Field, TextInput } from "../../_ui/ui.tsx";

type Providers = { github: boolean; google: boolean; oidc: { name: string } | null; signup: "open" | "invite-only" };

export function SignInForm({
  mode,
  providers,
  invite,
  firstAccount = false,
}: {
  mode: "sign-in" | "sign-up";
  providers: Providers;
  invite: string | null;
  firstAccount?: boolean;
}) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const after = invite ? `/invite/${encodeURIComponent(invite)}` : "/";
  const query = invite ? `?invite=${encodeURIComponent(invite)}` : "";

  async function submit(form: FormData) {
    setBusy(true);
    setError(null);
    const email = String(form.get("email") ?? "");
    const password = String(form.get("password") ?? "");
    const result =
      mode === "sign-in"
        ? await authClient.signIn.email({ email, password })
        : await authClient.signUp.email(
            { email, password, name: String(form.get("name") ?? "") },
            invite ? { headers: { [INVITE_HEADER]: invite } } : undefined,
          );
    setBusy(false);
    if (result.error) {
      setError(result.error.message ?? result.error.statusText ?? "Something went wrong");
      return;
    }
    router.push(after);
    router.refresh();
  }

  const social = [
    providers.github ? { id: "github", label: "GitHub" } : null,
    providers.google ? { id: "google", label: "Google" } : null,
  ].filter((provider): provider is { id: string; label: string } => provider !== null);

  return (
    <div className="mx-auto max-w-sm">
      <h1 className="text-2xl font-semibold tracking-tight">
        {mode === "sign-in" ? "Sign in to Scaleboard" : "Create your account"}
      </h1>
      {firstAccount ? (
        <p data-testid="first-account" className="mt-2 text-sm text-slate-600 dark:text-slate-400">
          Welcome! This Scaleboard has no accounts yet: the first one gets a team and is its admin.
        </p>
      ) : null}
      {mode === "sign-up" && providers.signup === "invite-only" && !invite && !firstAccount ? (
        <p className="mt-2 text-sm text-slate-600 dark:text-slate-400">
          Sign-up is by invitation: open the invite link a team admin sent you.
        </p>
      ) : null}
      <form
        className="mt-6 space-y-4"
        onSubmit={(event) => {
          event.preventDefault();
          void submit(new FormData(event.currentTarget));
        }}
      >
        {mode === "sign-up" ? (
          <Field label="Name">
            <TextInput name="name" autoComplete="name" required />
          </Field>
        ) : null}
        <Field label="Email">
          <TextInput name="email" type="email" autoComplete="email" required />
        </Field>
        <Field label="Password" hint={mode === "sign-up" ? "At least 8 characters." : undefined}>
          <TextInput
            name="password"
            type="password"
            autoComplete={mode === "sign-in" ? "current-password" : "new-password"}
            minLength={8}
            required
          />
        </Field>
        <ErrorMessage>{error}</ErrorMessage>
        <Button type="submit" disabled={busy} className="w-full">
          {mode === "sign-in" ? "Sign in" : "Sign up"}
        </Button>
      </form>
      {social.length > 0 || providers.oidc ? (
        <div className="mt-6 space-y-2">
          {social.map((provider) => (
            <Button
              key={provider.id}
              variant="secondary"
              className="w-full"
              onClick={() => void authClient.signIn.social({ provider: provider.id, callbackURL: after })}
            >
              Continue with {provider.label}
            </Button>
          ))}
          {providers.oidc ? (
            <Button
              variant="secondary"
              className="w-full"
              onClick={() =>
                void authClient
                  .$fetch("/sign-in/oauth2", { method: "POST", body: { providerId: "oidc", callbackURL: after } })
                  .then((response) => {
                    const url = (response.data as { url?: string } | null)?.url;
                    if (url) window.location.href = url;
                  })
              }
            >
              Continue with {providers.oidc.name}
            </Button>
          ) : null}
        </div>
      ) : null}
      <p className="mt-6 text-sm text-slate-600 dark:text-slate-400">
        {mode === "sign-in" ? (
          <>
            New here?{" "}
            <Link className="text-indigo-600 underline dark:text-indigo-400" href={`/sign-up${query}`}>
              Create an account
            </Link>
          </>
        ) : (
          <>
            Already have an account?{" "}
            <Link className="text-indigo-600 underline dark:text-indigo-400" href={`/sign-in${query}`}>
              Sign in
            </Link>
          </>
        )}
      </p>
    </div>
  );
}
