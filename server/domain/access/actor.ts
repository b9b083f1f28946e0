import type { ApiKeyScope } from "../../generated/prisma/enums.ts";

/** Who is calling: a signed-in user (or the local admin in single-user mode), or an API key. */
export type Actor =
  | { kind: "user"; userId: string; via: "session" | "local" }
  | { kind: "apiKey"; keyId: string; teamId: string; scope: ApiKeyScope; userId: string };
