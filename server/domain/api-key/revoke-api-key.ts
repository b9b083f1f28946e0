import type { Db } from "../../db.ts";
import { AppError } from "../app-error.ts";
import { apiKeySelect } from "./api-key-select.ts";

export async function revokeApiKey(db: Db, teamId: string, keyId: string) {
  const key = await db.apiKey.findFirst({ where: { id: keyId, teamId }, select: { id: true, revokedAt: true } });
  if (!key) throw new AppError("NOT_FOUND", "API key not found");
  return db.apiKey.update({
    where: { id: key.id },
    data: { revokedAt: key.revokedAt ?? new Date() },
    select: apiKeySelect,
  });
}
