import { redirect } from "next/navigation";
import { SignInForm } from "../_features/shell/sign-in-form.tsx";
import { getViewer } from "../_lib/viewer.ts";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ invite?: string }> }) {
  const viewer = await getViewer();
  const { invite } = await searchParams;
  if (viewer.user) redirect(invite ? `/invite/${encodeURIComponent(invite)}` : "/");
  return <SignInForm mode="sign-in" providers={viewer.providers} invite={invite ?? null} />;
}
