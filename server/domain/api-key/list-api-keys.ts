import type { Db } from "../../db.ts";
import { apiKeySelect } from "./api-key-select.ts";

export async function listApiKeys(db: Db, teamId: string) {
  return db.apiKey.findMany({
    where: { teamId },
    select: apiKeySelect,
    orderBy: [{ revokedAt: { sort: "desc", nulls: "first" } }, { createdAt: "desc" }],
    take: 500,
  });
}
