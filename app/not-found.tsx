import Link from "next/link";
import { EmptyState } from "./_ui/empty-state.tsx";

export const metadata = { title: "Not found" };

/** Unknown ids and other teams' projects, experiments and runs alike. */
export default function NotFound() {
  return (
    <EmptyState title="Not found" testId="not-found">
      <p>Nothing here: the link may be mistyped, or it belongs to a team you are not in.</p>
      <Link href="/" className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
        Go to the projects
      </Link>
    </EmptyState>
  );
}
