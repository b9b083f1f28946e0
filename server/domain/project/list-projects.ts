import { z } from "zod";
import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";

export const ZListProjectsInput = z.object({
  teamId: z.string().min(1),
  limit: z.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).nullish(),
});
export type ListProjectsInput = z.infer<typeof ZListProjectsInput>;

export const projectSummarySelect = {
  id: true,
  name: true,
  slug: true,
  description: true,
  updatedAt: true,
  _count: { select: { experiments: true } },
} satisfies Prisma.ProjectSelect;

/** Projects newest first, keyset-paginated on (updatedAt, id). */
export async function listProjects(db: Db, input: ListProjectsInput) {
  const items = await db.project.findMany({
    where: { teamId: input.teamId },
    select: projectSummarySelect,
    orderBy: [{ updatedAt: "desc" }, { id: "desc" }],
    take: input.limit + 1,
    ...(input.cursor ? { cursor: { id: input.cursor }, skip: 0 } : {}),
  });
  const hasMore = items.length > input.limit;
  const page = hasMore ? items.slice(0, input.limit) : items;
  return {
    items: page.map(({ _count, ...project }) => ({ ...project, experimentCount: _count.experiments })),
    nextCursor: hasMore ? (items[input.limit]?.id ?? null) : null,
  };
}
