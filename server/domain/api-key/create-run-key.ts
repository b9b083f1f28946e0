import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { logger } from "../../log.ts";
import { createApiKey } from "./create-api-key.ts";

const runKeyName = (runId: string) => `run ${runId}`;

type KeyWriter = Pick<Prisma.TransactionClient, "apiKey">;

/**
 * A short-lived ingest key for one command run, so its script can log through the HTTP API or SDK.
 * It is bound to the run (ApiKey.runId): it can write to that run only, answers 404 for any other,
 * expires after a day at most, and is revoked when the attempt ends (finished, canceled, given back,
 * requeued as stale, or taken over by another attempt).
 */
export async function createRunKey(
  db: Db,
  runId: string,
): Promise<{ key: string; keyId: string; revoke: () => Promise<void> } | null> {
  const run = await db.run.findUnique({
    where: { id: runId },
    select: {
      experiment: {
        select: {
          project: {
            select: {
              teamId: true,
              team: {
                select: {
                  memberships: {
                    where: { role: { in: ["admin", "editor"] } },
                    orderBy: { createdAt: "asc" },
                    take: 1,
                    select: { userId: true },
                  },
                },
              },
            },
          },
        },
      },
    },
  });
  const teamId = run?.experiment.project.teamId;
  const owner = run?.experiment.project.team.memberships[0]?.userId;
  if (!teamId || !owner) return null;
  const { key, apiKey } = await createApiKey(db, teamId, owner, {
    name: runKeyName(runId),
    scope: "ingest",
    expiresInDays: 1,
  });
  await db.apiKey.update({ where: { id: apiKey.id }, data: { runId }, select: { id: true } });
  // A key that stays live expires within a day; the attempt's end revokes every key of the run again.
  const revoke = () =>
    revokeRunKey(db, runId, apiKey.id).catch(
      (error: unknown) =>
        void logger().warn({ err: error, runId, keyId: apiKey.id }, "revoking a command run's API key failed"),
    );
  return { key, keyId: apiKey.id, revoke: async () => void (await revoke()) };
}

/** Revokes a key made by createRunKey for this run; any other key is left alone (a worker key may only end its runs' keys). */
export async function revokeRunKey(db: Db, runId: string, keyId: string): Promise<boolean> {
  const revoked = await db.apiKey.updateMany({
    where: { id: keyId, runId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return revoked.count > 0;
}

/** Revokes every live key of a run: called wherever an attempt ends, inside that transaction. */
export async function revokeRunKeys(db: KeyWriter, runId: string): Promise<void> {
  await db.apiKey.updateMany({ where: { runId, revokedAt: null }, data: { revokedAt: new Date() } });
}
