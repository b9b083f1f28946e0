import type { Db } from "../../db.ts";
import { createApiKey } from "./create-api-key.ts";
import { revokeApiKey } from "./revoke-api-key.ts";

const runKeyName = (runId: string) => `run ${runId}`;

/**
 * A short-lived ingest key for one command run, so its script can log through the HTTP API or SDK.
 * It belongs to the run's team, expires after a day at most, and is revoked when the run ends.
 */
export async function createRunKey(db: Db, runId: string): Promise<{ key: string; keyId: string; revoke: () => Promise<void> } | null> {
  const run = await db.run.findUnique({
    where: { id: runId },
    select: { experiment: { select: { project: { select: { teamId: true, team: { select: { memberships: { where: { role: { in: ["admin", "editor"] } }, orderBy: { createdAt: "asc" }, take: 1, select: { userId: true } } } } } } } } },
  });
  const teamId = run?.experiment.project.teamId;
  const owner = run?.experiment.project.team.memberships[0]?.userId;
  if (!teamId || !owner) return null;
  const { key, apiKey } = await createApiKey(db, teamId, owner, { name: runKeyName(runId), scope: "ingest", expiresInDays: 1 });
  return { key, keyId: apiKey.id, revoke: async () => void (await revokeApiKey(db, teamId, apiKey.id).catch(() => undefined)) };
}

/** Revokes a key made by createRunKey for this run; any other key is left alone (a worker key may only end its runs' keys). */
export async function revokeRunKey(db: Db, runId: string, keyId: string): Promise<boolean> {
  const revoked = await db.apiKey.updateMany({ where: { id: keyId, name: runKeyName(runId), scope: "ingest", revokedAt: null }, data: { revokedAt: new Date() } });
  return revoked.count > 0;
}
