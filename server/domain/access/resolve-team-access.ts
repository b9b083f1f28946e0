import type { Db } from "../../db.ts";
import type { Role } from "../../generated/prisma/enums.ts";
import { AppError } from "../app-error.ts";
import type { Actor } from "./actor.ts";
import { FULL_KEY_ROLE, roleAtLeast } from "./roles.ts";

/** What a key may be used for outside tRPC: logging runs (/api/v1) or running a worker (/api/v1/worker). */
export type KeyUse = "ingest" | "worker";

const INVALID_KEY = "Invalid, expired or revoked API key";

/**
 * The role a key acts with in its team: the lesser of what its scope allows (FULL_KEY_ROLE for
 * `full`) and its creator's current role there. A key whose creator has left the team is dead.
 */
export async function keyRole(db: Db, actor: Extract<Actor, { kind: "apiKey" }>): Promise<Role> {
  return effectiveKeyRole(await creatorRole(db, actor));
}

/** The key's creator's current role in the key's team; UNAUTHORIZED when they have left it. */
async function creatorRole(db: Db, actor: Extract<Actor, { kind: "apiKey" }>): Promise<Role> {
  const creator = await db.membership.findUnique({
    where: { teamId_userId: { teamId: actor.teamId, userId: actor.userId } },
    select: { role: true },
  });
  if (!creator) throw new AppError("UNAUTHORIZED", INVALID_KEY);
  return creator.role;
}

function effectiveKeyRole(creatorRole: Role): Role {
  return roleAtLeast(creatorRole, FULL_KEY_ROLE) ? FULL_KEY_ROLE : creatorRole;
}

/**
 * Checks a key for /api/v1 (ingest) or the worker API: its scope names the use (or is `full`), and
 * it acts with at least `minimumRole` (both uses write runs; a read such as GET /api/v1/runs/:id
 * needs only viewer).
 */
export async function authorizeKeyUse(
  db: Db,
  actor: Extract<Actor, { kind: "apiKey" }>,
  use: KeyUse,
  minimumRole: Role = "editor",
): Promise<void> {
  assertKeyScope(actor, use); // before reading the role: a wrong scope is refused as such
  assertKeyUse(actor, await creatorRole(db, actor), use, minimumRole);
}

/** authorizeKeyUse with the creator's current role already read (verifyApiKeyForUse reads it with the key). */
export function assertKeyUse(
  actor: Extract<Actor, { kind: "apiKey" }>,
  creatorRole: Role,
  use: KeyUse,
  minimumRole: Role,
): void {
  assertKeyScope(actor, use);
  const role = effectiveKeyRole(creatorRole);
  if (!roleAtLeast(role, minimumRole)) {
    throw new AppError(
      "FORBIDDEN",
      `This API key acts as a ${role}: the member who created it is now a ${role} in the team`,
    );
  }
}

function assertKeyScope(actor: Extract<Actor, { kind: "apiKey" }>, use: KeyUse): void {
  if (actor.scope !== use && actor.scope !== "full") {
    throw new AppError(
      "FORBIDDEN",
      use === "ingest"
        ? `An API key with scope "${actor.scope}" cannot log runs; use an ingest or full key`
        : `An API key with scope "${actor.scope}" cannot run a worker; create a key with scope worker on the Team page`,
    );
  }
}
