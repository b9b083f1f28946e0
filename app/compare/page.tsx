import { redirect } from "next/navigation";
import { getViewer } from "../_lib/viewer.ts";
import { HydrateClient } from "../_trpc/server.tsx";
import { CompareView } from "./compare-view.tsx";

export const dynamic = "force-dynamic";
export const metadata = { title: "Compare runs" };

export default async function ComparePage() {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  return (
    <HydrateClient>
      <CompareView />
    </HydrateClient>
  );
}
