"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { authClient } from "../../_lib/auth-client.ts";

export function UserMenu({ name, email }: { name: string; email: string }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  return (
    <div className="flex items-center gap-2 text-sm">
      <span className="hidden text-slate-600 md:inline dark:text-slate-300" title={email} data-testid="signed-in-as">
        {name}
      </span>
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          await authClient.signOut();
          router.push("/sign-in");
          router.refresh();
        }}
        className="rounded-md border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
      >
        Sign out
      </button>
    </div>
  );
}
