import type { Db } from "../../db.ts";
import { createApiKey } from "./create-api-key.ts";
import { revokeApiKey } from "./revoke-api-key.ts";

/**
 * A short-lived ingest key for one command run, so its script can log through the HTTP API or SDK.
 * It belongs to the run's team, expires after a day at most, and is revoked when the run ends.
 */
export async function createRunKey(db: Db, runId: string): Promise<{ key: string; revoke: () => Promise<void> } | null> {
  const run = await db.run.findUnique({
    where: { id: runId },
    select: { experiment: { select: { project: { select: { teamId: true, team: { select: { memberships: { where: { role: { in: ["admin", "editor"] } }, orderBy: { createdAt: "asc" }, take: 1, select: { userId: true } } } } } } } } },
  });
  const teamId = run?.experiment.project.teamId;
  const owner = run?.experiment.project.team.memberships[0]?.userId;
  if (!teamId || !owner) return null;
  const { key, apiKey } = await createApiKey(db, teamId, owner, { name: `run ${runId}`, scope: "ingest", expiresInDays: 1 });
  return { key, revoke: async () => void (await revokeApiKey(db, teamId, apiKey.id).catch(() => undefined)) };
}
