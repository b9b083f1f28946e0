import type { Db } from "../../db.ts";

/** A project's experiments with how many runs are in each status. */
export async function listExperiments(db: Db, projectId: string) {
  const experiments = await db.experiment.findMany({
    where: { projectId },
    select: {
      id: true,
      name: true,
      description: true,
      priority: true,
      updatedAt: true,
      _count: { select: { runs: true, specVersions: true } },
    },
    orderBy: { updatedAt: "desc" },
    take: 500,
  });
  const counts = await db.run.groupBy({
    by: ["experimentId", "status"],
    where: { experimentId: { in: experiments.map((experiment) => experiment.id) } },
    _count: { _all: true },
  });
  return experiments.map(({ _count, ...experiment }) => ({
    ...experiment,
    runCount: _count.runs,
    specVersionCount: _count.specVersions,
    statusCounts: Object.fromEntries(
      counts.filter((row) => row.experimentId === experiment.id).map((row) => [row.status, row._count._all]),
    ),
  }));
}
