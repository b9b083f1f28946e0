import type { ApiKeyScope } from "../../generated/prisma/enums.ts";

/**
 * Who is calling: a signed-in user (or the local admin in single-user mode), or an API key. A key
 * with `runId` is bound to that one run (a command run's own key, ApiKey.runId): it reaches that run
 * only (server/domain/access/resource-access.ts).
 */
export type Actor =
  | { kind: "user"; userId: string; via: "session" | "local" }
  | { kind: "apiKey"; keyId: string; teamId: string; scope: ApiKeyScope; userId: string; runId?: string };
