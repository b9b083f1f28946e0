import type { Prisma } from "../../generated/prisma/client.ts";

/** What the API shows of a key: never its hash; the secret itself only once, at creation. */
export const apiKeySelect = {
  id: true,
  name: true,
  prefix: true,
  scope: true,
  lastUsedAt: true,
  expiresAt: true,
  revokedAt: true,
  createdAt: true,
  createdBy: { select: { id: true, name: true } },
} satisfies Prisma.ApiKeySelect;
