import { randomBytes } from "node:crypto";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import type { Db } from "../../server/db.ts";
import type { Actor } from "../../server/domain/access/actor.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import type { ApiKeyScope, Role } from "../../server/generated/prisma/enums.ts";

export async function createUser(db: Db, name = "User"): Promise<{ id: string; email: string }> {
  const id = `user_${randomBytes(6).toString("hex")}`;
  const email = `${id}@example.com`;
  await db.user.create({ data: { id, name, email }, select: { id: true } });
  return { id, email };
}

export async function createTeamWith(db: Db, members: Record<string, Role> = {}) {
  const slug = `team-${randomBytes(6).toString("hex")}`;
  const team = await db.team.create({ data: { name: slug, slug }, select: { id: true } });
  for (const [userId, role] of Object.entries(members))
    await db.membership.create({ data: { teamId: team.id, userId, role } });
  return team;
}

/** A project "P" with an experiment "E" in the team: somewhere for runs to live. Returns the experiment's id. */
export async function createExperiment(db: Db, teamId: string): Promise<string> {
  const project = await db.project.create({ data: { teamId, name: "P", slug: "p" }, select: { id: true } });
  return (await db.experiment.create({ data: { projectId: project.id, name: "E" }, select: { id: true } })).id;
}

export function userActor(userId: string): Actor {
  return { kind: "user", userId, via: "session" };
}

export async function keyActor(db: Db, teamId: string, createdById: string, scope: ApiKeyScope): Promise<Actor> {
  const { apiKey } = await createApiKey(db, teamId, createdById, { name: `key-${scope}`, scope });
  return { kind: "apiKey", keyId: apiKey.id, teamId, scope, userId: createdById };
}

export function callerFor(db: Db, actor: Actor | null) {
  return createCaller(createTRPCContext({ db, actor }));
}
