import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callerFor, createTeamWith, createUser, userActor } from "../helpers/actors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * PostgreSQL refuses NUL and lone surrogates in text and jsonb. Through tRPC such input gets a
 * BAD_REQUEST naming the field (never a 500), and what was stored before is untouched.
 */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

async function errorOf(promise: Promise<unknown>): Promise<TRPCError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("text PostgreSQL cannot store", () => {
  it("is refused with the field's name and keeps what was stored", async () => {
    const admin = await createUser(database.db, "Ada");
    const team = await createTeamWith(database.db, { [admin.id]: "admin" });
    const api = callerFor(database.db, userActor(admin.id));
    const project = await api.project.create({ teamId: team.id, name: "Scaling" });

    const error = await errorOf(api.project.create({ teamId: team.id, name: "a\u0000b" }));
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toMatch(/^Invalid request: name: text may not contain the NUL character/);
    const projects = await database.db.project.findMany({
      where: { teamId: team.id },
      select: { id: true, name: true },
    });
    expect(projects).toEqual([{ id: project.id, name: "Scaling" }]);
  });
});
