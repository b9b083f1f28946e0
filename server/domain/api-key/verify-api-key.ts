import { timingSafeEqual } from "node:crypto";
import type { Db } from "../../db.ts";
import type { Actor } from "../access/actor.ts";
import { hashApiKey } from "./create-api-key.ts";

const KEY_PATTERN = /^(sb_[A-Za-z0-9]{8})_[A-Za-z0-9_-]{20,}$/;
const LAST_USED_PRECISION_MS = 60_000;

/**
 * The actor for a presented key, or null when it is unknown, revoked, expired or malformed, or
 * when its creator is no longer in the key's team (a key never outlives its creator's membership).
 * What the key may do is decided where it is used (server/domain/access/resource-access.ts).
 */
export async function verifyApiKey(
  db: Db,
  presented: string,
  now = new Date(),
): Promise<Extract<Actor, { kind: "apiKey" }> | null> {
  const match = KEY_PATTERN.exec(presented);
  if (!match?.[1]) return null;
  const row = await db.apiKey.findUnique({
    where: { prefix: match[1] },
    select: {
      id: true,
      teamId: true,
      scope: true,
      keyHash: true,
      createdById: true,
      revokedAt: true,
      expiresAt: true,
      lastUsedAt: true,
      runId: true,
    },
  });
  if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now)) return null;
  const expected = Buffer.from(row.keyHash, "hex");
  const actual = Buffer.from(hashApiKey(presented), "hex");
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  const creator = await db.membership.findUnique({
    where: { teamId_userId: { teamId: row.teamId, userId: row.createdById } },
    select: { id: true },
  });
  if (!creator) return null;
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_PRECISION_MS) {
    await db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: now }, select: { id: true } });
  }
  const actor: Extract<Actor, { kind: "apiKey" }> = {
    kind: "apiKey",
    keyId: row.id,
    teamId: row.teamId,
    scope: row.scope,
    userId: row.createdById,
  };
  return row.runId ? { ...actor, runId: row.runId } : actor;
}
