import { timingSafeEqual } from "node:crypto";
import type { Db } from "../../db.ts";
import type { ApiKeyScope, Role } from "../../generated/prisma/enums.ts";
import type { Actor } from "../access/actor.ts";
import { assertKeyUse, type KeyUse } from "../access/resolve-team-access.ts";
import { hashApiKey } from "./create-api-key.ts";

const KEY_PATTERN = /^(sb_[A-Za-z0-9]{8})_[A-Za-z0-9_-]{20,}$/;
const LAST_USED_PRECISION_MS = 60_000;

type KeyActor = Extract<Actor, { kind: "apiKey" }>;

/**
 * The actor for a presented key, or null when it is unknown, revoked, expired or malformed, or
 * when its creator is no longer in the key's team (a key never outlives its creator's membership).
 * What the key may do is decided where it is used (server/domain/access/resource-access.ts).
 */
export async function verifyApiKey(db: Db, presented: string, now = new Date()): Promise<KeyActor | null> {
  return (await findLiveKey(db, presented, now))?.actor ?? null;
}

/**
 * verifyApiKey and authorizeKeyUse in one statement, for endpoints that check a key on every request
 * (logging points): the key, or null as verifyApiKey answers; FORBIDDEN when it may not be used so.
 */
export async function verifyApiKeyForUse(
  db: Db,
  presented: string,
  use: KeyUse,
  minimumRole: Role,
  now = new Date(),
): Promise<KeyActor | null> {
  const found = await findLiveKey(db, presented, now);
  if (!found) return null;
  assertKeyUse(found.actor, found.creatorRole, use, minimumRole);
  return found.actor;
}

/** The key with its creator's current role in the key's team, read together. */
async function findLiveKey(
  db: Db,
  presented: string,
  now: Date,
): Promise<{ actor: KeyActor; creatorRole: Role } | null> {
  const match = KEY_PATTERN.exec(presented);
  if (!match?.[1]) return null;
  const [row] = await db.$queryRaw<
    {
      id: string;
      teamId: string;
      scope: ApiKeyScope;
      keyHash: string;
      createdById: string;
      runId: string | null;
      live: boolean;
      touch: boolean;
      creatorRole: Role | null;
    }[]
  >`/* prepared: find api key */
    SELECT k.id, k."teamId", k.scope::text AS scope, k."keyHash", k."createdById", k."runId",
           (k."revokedAt" IS NULL AND (k."expiresAt" IS NULL OR k."expiresAt" > ${now})) AS live,
           (k."lastUsedAt" IS NULL OR k."lastUsedAt" < ${new Date(now.getTime() - LAST_USED_PRECISION_MS)}) AS touch,
           m.role::text AS "creatorRole"
    FROM "ApiKey" k LEFT JOIN "Membership" m ON m."teamId" = k."teamId" AND m."userId" = k."createdById"
    WHERE k.prefix = ${match[1]}`;
  if (!row?.live) return null;
  const expected = Buffer.from(row.keyHash, "hex");
  const actual = Buffer.from(hashApiKey(presented), "hex");
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  if (!row.creatorRole) return null;
  if (row.touch) await db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: now }, select: { id: true } });
  const actor: KeyActor = {
    kind: "apiKey",
    keyId: row.id,
    teamId: row.teamId,
    scope: row.scope,
    userId: row.createdById,
  };
  return { actor: row.runId ? { ...actor, runId: row.runId } : actor, creatorRole: row.creatorRole };
}
