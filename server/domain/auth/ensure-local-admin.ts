import type { Db } from "../../db.ts";

export const LOCAL_ADMIN_ID = "local-admin";
const LOCAL_TEAM_SLUG = "local";

/** Single-user mode's identity: one admin user in one team, created on first use. */
export async function ensureLocalAdmin(db: Db): Promise<{ userId: string }> {
  await db.user.upsert({
    where: { id: LOCAL_ADMIN_ID },
    create: { id: LOCAL_ADMIN_ID, name: "Local admin", email: "local-admin@scaleboard.local", emailVerified: true },
    update: {},
    select: { id: true },
  });
  const memberships = await db.membership.count({ where: { userId: LOCAL_ADMIN_ID } });
  if (memberships === 0) {
    const team = await db.team.upsert({
      where: { slug: LOCAL_TEAM_SLUG },
      create: { name: "Local", slug: LOCAL_TEAM_SLUG },
      update: {},
      select: { id: true },
    });
    await db.membership.upsert({
      where: { teamId_userId: { teamId: team.id, userId: LOCAL_ADMIN_ID } },
      create: { teamId: team.id, userId: LOCAL_ADMIN_ID, role: "admin" },
      update: {},
      select: { id: true },
    });
  }
  return { userId: LOCAL_ADMIN_ID };
}
