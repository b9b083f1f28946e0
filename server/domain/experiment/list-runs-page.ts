import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { slugify } from "../team/create-team.ts";
import { afterCursor, encodeCursor, type PageCursor } from "./page-cursor.ts";

export const RUNS_PAGE = 100;
export const MAX_RUNS_PAGE = 1_000;

/** What a list of runs shows of each: identity, status and the sizes a scaling study needs. */
export const runListSelect = {
  id: true,
  name: true,
  status: true,
  tags: true,
  paramCount: true,
  flopsPerStep: true,
  totalFlops: true,
  tokens: true,
  samples: true,
  step: true,
  progress: true,
  wallClockSeconds: true,
  trainSeconds: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  experiment: { select: { id: true, name: true, project: { select: { id: true, name: true, slug: true } } } },
} satisfies Prisma.RunSelect;

type ListedRun = Prisma.RunGetPayload<{ select: typeof runListSelect }>;

/** A run as the API lists it: BigInt parameter counts as numbers, the project beside the experiment. */
export function runListItem({ experiment, paramCount, ...run }: ListedRun) {
  const { project, ...rest } = experiment;
  return {
    ...run,
    paramCount: paramCount === null ? null : Number(paramCount),
    experiment: rest,
    project,
  };
}

/**
 * A team's runs, newest first, a page at a time: of one project (by slug, as the API creates them)
 * and one experiment (by name) when asked. `onlyRunId` narrows the list to one run (a command run's
 * own key sees nothing else). Keyset pagination on (createdAt, id), which the index on
 * (experimentId, createdAt, id) serves per experiment.
 */
export async function listRunsPage(
  db: Db,
  teamId: string,
  query: { project?: string; experiment?: string; onlyRunId?: string; limit?: number; cursor?: PageCursor | null },
) {
  const limit = query.limit ?? RUNS_PAGE;
  const rows = await db.run.findMany({
    where: {
      experiment: {
        project: { teamId, ...(query.project !== undefined ? { slug: slugify(query.project) } : {}) },
        ...(query.experiment !== undefined ? { name: query.experiment } : {}),
      },
      ...(query.onlyRunId !== undefined ? { id: query.onlyRunId } : {}),
      ...afterCursor(query.cursor),
    },
    select: runListSelect,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
  const page = rows.slice(0, limit);
  return { runs: page.map(runListItem), nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null };
}
