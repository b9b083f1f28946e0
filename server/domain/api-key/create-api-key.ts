import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { Db } from "../../db.ts";
import { API_KEY_SCOPES } from "../access/roles.ts";
import { apiKeySelect } from "./api-key-select.ts";

export const ZCreateApiKeyInput = z.object({
  name: z.string().trim().min(1, "Give the key a name").max(100),
  scope: z.enum(API_KEY_SCOPES),
  expiresInDays: z.number().int().min(1).max(3650).nullish(),
});
export type CreateApiKeyInput = z.infer<typeof ZCreateApiKeyInput>;

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Keys look like `sb_<8 lookup chars>_<43 secret chars>`; only the lookup prefix and a hash are stored. */
export async function createApiKey(db: Db, teamId: string, createdById: string, input: CreateApiKeyInput) {
  const prefix = `sb_${randomBytes(6).toString("base64url").replace(/[-_]/g, "x")}`;
  const key = `${prefix}_${randomBytes(32).toString("base64url")}`;
  const apiKey = await db.apiKey.create({
    data: {
      teamId,
      createdById,
      name: input.name,
      scope: input.scope,
      prefix,
      keyHash: hashApiKey(key),
      expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
    },
    select: apiKeySelect,
  });
  return { apiKey, key };
}
