import { redirect } from "next/navigation";
import { SignInForm } from "../_features/shell/sign-in-form.tsx";
import { getViewer } from "../_lib/viewer.ts";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign up" };

export default async function SignUpPage({ searchParams }: { searchParams: Promise<{ invite?: string }> }) {
  const viewer = await getViewer();
  const { invite } = await searchParams;
  if (viewer.user) redirect(invite ? `/invite/${encodeURIComponent(invite)}` : "/");
  return (
    <SignInForm
      mode="sign-up"
      providers={viewer.providers}
      invite={invite ?? null}
      firstAccount={viewer.needsFirstAccount}
    />
  );
}
