import type { ApiKeyScope, Role } from "../../generated/prisma/enums.ts";

export const ROLES = ["viewer", "editor", "admin"] as const satisfies readonly Role[];
export const API_KEY_SCOPES = ["ingest", "worker", "full"] as const satisfies readonly ApiKeyScope[];

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

export function roleAtLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum];
}

/** What a key may do on team procedures: `full` acts as an editor; the narrow scopes only where a procedure names them. */
export const FULL_KEY_ROLE: Role = "editor";
