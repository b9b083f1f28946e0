import { afterAll, beforeAll, expect, test } from "vitest";
import { signUp, startServer, teamOf, trpc, type SecurityServer } from "./server.ts";

let server: SecurityServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.stop());

test("a stranger signs up over HTTP on a server with sign-in on and gets a team of their own", async () => {
  const first = await signUp(server, "first");
  const stranger = await signUp(server, "stranger");
  const firstTeam = await teamOf(server, first);
  const strangerTeam = await teamOf(server, stranger);
  expect(strangerTeam).not.toBe(firstTeam);
  const other = await trpc(server, stranger, "team.get", { teamId: firstTeam });
  expect(other.error?.code ?? other.status).toBeTruthy();
  expect(other.status).toBe(404);
});
