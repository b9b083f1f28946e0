import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { slugify } from "../team/create-team.ts";
import { afterCursor, encodeCursor, type PageCursor } from "./page-cursor.ts";

export const EXPERIMENTS_PAGE = 100;
export const MAX_EXPERIMENTS_PAGE = 500;

const experimentSelect = {
  id: true,
  name: true,
  description: true,
  createdAt: true,
  updatedAt: true,
  project: { select: { id: true, name: true, slug: true } },
  _count: { select: { runs: true } },
} satisfies Prisma.ExperimentSelect;

/**
 * A team's experiments, newest first, a page at a time: those of one project (matched as the API
 * creates projects, by slug, so "My Project" and "my-project" are the same) and with one name when
 * asked. Experiment names are unique within a project, so project and name find at most one.
 */
export async function findExperiments(
  db: Db,
  teamId: string,
  query: { project?: string; name?: string; limit?: number; cursor?: PageCursor | null },
) {
  const limit = query.limit ?? EXPERIMENTS_PAGE;
  const rows = await db.experiment.findMany({
    where: {
      project: { teamId, ...(query.project !== undefined ? { slug: slugify(query.project) } : {}) },
      ...(query.name !== undefined ? { name: query.name } : {}),
      ...afterCursor(query.cursor),
    },
    select: experimentSelect,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
  const page = rows.slice(0, limit);
  return {
    experiments: page.map(({ _count, ...experiment }) => ({ ...experiment, runCount: _count.runs })),
    nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null,
  };
}
