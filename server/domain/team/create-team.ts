import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Db } from "../../db.ts";

export const ZCreateTeamInput = z.object({ name: z.string().trim().min(1, "Give the team a name").max(80) });
export type CreateTeamInput = z.infer<typeof ZCreateTeamInput>;

export function slugify(name: string): string {
  const slug = name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return slug || "team";
}

/** Creates a team with its creator as admin. */
export async function createTeam(db: Db, userId: string, input: CreateTeamInput) {
  const base = slugify(input.name);
  const taken = await db.team.findUnique({ where: { slug: base }, select: { id: true } });
  const slug = taken ? `${base}-${randomBytes(3).toString("hex")}` : base;
  return db.team.create({
    data: { name: input.name, slug, memberships: { create: { userId, role: "admin" } } },
    select: { id: true, name: true, slug: true },
  });
}
