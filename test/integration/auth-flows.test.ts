import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuth, INVITE_HEADER } from "../../server/auth/auth.ts";
import { resolveRequestAuth } from "../../server/auth/resolve-request-auth.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { revokeApiKey } from "../../server/domain/api-key/revoke-api-key.ts";
import { verifyApiKey } from "../../server/domain/api-key/verify-api-key.ts";
import { LOCAL_ADMIN_ID } from "../../server/domain/auth/ensure-local-admin.ts";
import { createInvite } from "../../server/domain/invite/create-invite.ts";
import { parseEnv } from "../../server/env.ts";
import { callerFor, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

const SECRET = "a-test-secret-that-is-long-enough-0123456789";

async function statusOf(promise: Promise<unknown>): Promise<number | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return (error as { statusCode?: number }).statusCode ?? -1;
  }
}

describe("sign-up and sign-in (better-auth on PostgreSQL)", () => {
  it("gives the first account a team it administers, hashes the password, and later accounts no team", async () => {
    const auth = createAuth(database.db, parseEnv({ BETTER_AUTH_SECRET: SECRET }));
    const first = await auth.api.signUpEmail({
      body: { name: "Ada Lovelace", email: "ada@example.com", password: "correct horse battery" },
    });
    const memberships = await database.db.membership.findMany({
      where: { userId: first.user.id },
      include: { team: true },
    });
    expect(memberships).toHaveLength(1);
    expect(memberships[0]?.role).toBe("admin");
    expect(memberships[0]?.team.name).toBe("Ada's team");

    const account = await database.db.account.findFirstOrThrow({ where: { userId: first.user.id } });
    expect(account.password).toBeTruthy();
    expect(account.password).not.toContain("correct horse battery");
    expect(await database.db.session.count({ where: { userId: first.user.id } })).toBe(1);

    const second = await auth.api.signUpEmail({
      body: { name: "Bob", email: "bob@example.com", password: "another password" },
    });
    expect(await database.db.membership.count({ where: { userId: second.user.id } })).toBe(0);
  });

  it("closes sign-up with SIGNUP=invite-only except for holders of a valid invite", async () => {
    const auth = createAuth(database.db, parseEnv({ BETTER_AUTH_SECRET: SECRET, SIGNUP: "invite-only" }));
    expect(
      await statusOf(
        auth.api.signUpEmail({ body: { name: "Eve", email: "eve@example.com", password: "password123" } }),
      ),
    ).toBe(403);
    expect(await database.db.user.count({ where: { email: "eve@example.com" } })).toBe(0);

    const admin = await database.db.user.findUniqueOrThrow({ where: { email: "ada@example.com" } });
    const team = await database.db.membership.findFirstOrThrow({ where: { userId: admin.id } });
    const { token } = await createInvite(database.db, team.teamId, admin.id, { role: "viewer", expiresInHours: 1 });
    const withInvite = auth.api.signUpEmail({
      body: { name: "Vic", email: "vic@example.com", password: "password123" },
      headers: new Headers({ [INVITE_HEADER]: token }),
    });
    expect(await statusOf(withInvite)).toBe("ok");
  });

  it("throttles failed sign-ins per account and address, even when the right password follows, until an admin unlocks", async () => {
    const auth = createAuth(database.db, parseEnv({ BETTER_AUTH_SECRET: SECRET }));
    const attempt = (password: string) =>
      statusOf(auth.api.signInEmail({ body: { email: "bob@example.com", password } }));
    expect(await attempt("another password")).toBe("ok");
    for (let index = 0; index < 5; index++) expect(await attempt("wrong guess")).toBe(401);
    expect(await attempt("another password")).toBe(429);
    // Another account is not affected.
    expect(
      await statusOf(auth.api.signInEmail({ body: { email: "ada@example.com", password: "correct horse battery" } })),
    ).toBe("ok");
    // An admin of a team bob is in lifts the limit.
    const bob = await database.db.user.findUniqueOrThrow({ where: { email: "bob@example.com" }, select: { id: true } });
    const admin = await createUser(database.db);
    const team = await createTeamWith(database.db, { [admin.id]: "admin", [bob.id]: "viewer" });
    const asAdmin = callerFor(database.db, userActor(admin.id));
    expect(
      (await asAdmin.team.members({ teamId: team.id })).find((member) => member.userId === bob.id)?.signInLimited,
    ).toBe(true);
    expect(await asAdmin.team.unlockSignIn({ teamId: team.id, userId: bob.id })).toEqual({
      userId: bob.id,
      unlocked: true,
    });
    expect(await attempt("another password")).toBe("ok");
    expect(
      (await asAdmin.team.members({ teamId: team.id })).find((member) => member.userId === bob.id)?.signInLimited,
    ).toBe(false);
    // Only members of the admin's own team.
    await expect(
      asAdmin.team.unlockSignIn({ teamId: team.id, userId: `${admin.id}-not-a-member` }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("team membership rules", () => {
  it("never leaves a team without an admin", async () => {
    const [ada, bob] = [await createUser(database.db), await createUser(database.db)];
    const team = await createTeamWith(database.db, { [ada.id]: "admin", [bob.id]: "editor" });
    const asAda = callerFor(database.db, userActor(ada.id));
    await expect(asAda.team.removeMember({ teamId: team.id, userId: ada.id })).rejects.toMatchObject({
      code: "CONFLICT",
    });
    await expect(asAda.team.changeRole({ teamId: team.id, userId: ada.id, role: "viewer" })).rejects.toMatchObject({
      code: "CONFLICT",
    });
    await asAda.team.changeRole({ teamId: team.id, userId: bob.id, role: "admin" });
    await asAda.team.changeRole({ teamId: team.id, userId: ada.id, role: "viewer" });
    const members = await callerFor(database.db, userActor(bob.id)).team.members({ teamId: team.id });
    expect(Object.fromEntries(members.map((member) => [member.userId, member.role]))).toEqual({
      [ada.id]: "viewer",
      [bob.id]: "admin",
    });
  });

  it("uses an invite once, refuses expired or revoked ones, and keeps a higher role", async () => {
    const [admin, newcomer, editor] = [
      await createUser(database.db),
      await createUser(database.db),
      await createUser(database.db),
    ];
    const team = await createTeamWith(database.db, { [admin.id]: "admin", [editor.id]: "editor" });
    const asAdmin = callerFor(database.db, userActor(admin.id));
    const created = await asAdmin.invite.create({ teamId: team.id, role: "viewer", expiresInHours: 1 });
    expect(created.token.length).toBeGreaterThanOrEqual(43);
    expect(await callerFor(database.db, null).invite.preview({ token: created.token })).toMatchObject({
      role: "viewer",
    });

    await callerFor(database.db, userActor(newcomer.id)).invite.accept({ token: created.token });
    await expect(
      callerFor(database.db, userActor(editor.id)).invite.accept({ token: created.token }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });

    const revoked = await asAdmin.invite.create({ teamId: team.id, role: "admin" });
    await asAdmin.invite.revoke({ teamId: team.id, inviteId: revoked.invite.id });
    await expect(callerFor(database.db, null).invite.preview({ token: revoked.token })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });

    const expiring = await asAdmin.invite.create({ teamId: team.id, role: "viewer" });
    await database.db.invite.update({
      where: { id: expiring.invite.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    await expect(
      callerFor(database.db, userActor(editor.id)).invite.accept({ token: expiring.token }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });

    const lower = await asAdmin.invite.create({ teamId: team.id, role: "viewer" });
    expect(await callerFor(database.db, userActor(editor.id)).invite.accept({ token: lower.token })).toMatchObject({
      role: "editor",
    });
    const roles = await asAdmin.team.members({ teamId: team.id });
    expect(roles.find((member) => member.userId === newcomer.id)?.role).toBe("viewer");
  });
});

describe("API keys and request authentication", () => {
  it("authenticates a Bearer key until it is revoked, and records when it was used", async () => {
    const admin = await createUser(database.db);
    const team = await createTeamWith(database.db, { [admin.id]: "admin" });
    const { key, apiKey } = await createApiKey(database.db, team.id, admin.id, { name: "ci", scope: "full" });
    expect(key.startsWith(`${apiKey.prefix}_`)).toBe(true);
    const stored = await database.db.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(stored.keyHash).not.toContain(key.slice(12));

    const headers = new Headers({ authorization: `Bearer ${key}` });
    const options = { method: "POST", mode: "on" as const, lookupSession: async () => null };
    const auth = await resolveRequestAuth(database.db, headers, options);
    expect(auth.actor).toMatchObject({ kind: "apiKey", teamId: team.id, scope: "full" });
    expect((await database.db.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).lastUsedAt).toBeInstanceOf(Date);

    const projects = createCaller(createTRPCContext({ db: database.db, ...auth }));
    expect(await projects.project.create({ teamId: team.id, name: "From CI" })).toMatchObject({ name: "From CI" });

    await revokeApiKey(database.db, team.id, apiKey.id);
    const after = await resolveRequestAuth(database.db, headers, options);
    expect(after.actor).toBeNull();
    await expect(
      createCaller(createTRPCContext({ db: database.db, ...after })).project.list({ teamId: team.id }),
    ).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: expect.stringContaining("revoked"),
    });
    expect(await verifyApiKey(database.db, `${key}x`)).toBeNull();
    expect(await verifyApiKey(database.db, "sb_nothing")).toBeNull();
  });

  it("refuses a cookie-authenticated mutation from another origin, and allows it from our own", async () => {
    const admin = await createUser(database.db);
    const team = await createTeamWith(database.db, { [admin.id]: "admin" });
    const lookupSession = async () => ({ user: { id: admin.id } });
    const forged = await resolveRequestAuth(
      database.db,
      new Headers({ host: "scaleboard.example", origin: "https://evil.example", cookie: "session=1" }),
      { method: "POST", mode: "on", lookupSession },
    );
    expect(forged.crossSite).toBe(true);
    await expect(
      createCaller(createTRPCContext({ db: database.db, ...forged })).project.create({
        teamId: team.id,
        name: "Forged",
      }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    expect(await database.db.project.count({ where: { name: "Forged" } })).toBe(0);

    const same = await resolveRequestAuth(
      database.db,
      new Headers({ host: "scaleboard.example", origin: "https://scaleboard.example" }),
      { method: "POST", mode: "on", lookupSession },
    );
    expect(same.crossSite).toBe(false);
    expect(
      await createCaller(createTRPCContext({ db: database.db, ...same })).project.create({
        teamId: team.id,
        name: "Legit",
      }),
    ).toMatchObject({ name: "Legit" });
  });

  it("signs everyone in as the local admin of a local team when auth is off", async () => {
    const auth = await resolveRequestAuth(database.db, new Headers(), {
      method: "GET",
      mode: "off",
      lookupSession: async () => null,
    });
    expect(auth.actor).toEqual({ kind: "user", userId: LOCAL_ADMIN_ID, via: "local" });
    const session = await createCaller(
      createTRPCContext({ db: database.db, ...auth, authMode: "off" }),
    ).viewer.session();
    expect(session.authMode).toBe("off");
    expect(session.teams).toEqual([expect.objectContaining({ slug: "local", role: "admin" })]);
  });
});
