import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { type CliResult, runProcess } from "../helpers/run-cli.ts";
import { startV1Server } from "../helpers/v1-server.ts";

/** `scaleboard key create|list|revoke` (issue #17, item 5) on the local database, checked against /api/v1. */

let database: TestDatabase;
let server: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startV1Server(database.db);
});
afterAll(async () => {
  await server.close();
  await database.drop();
});

/** server/cli/key.ts, as bin/scaleboard.js runs its commands (through tsx). */
function key(args: string[]): Promise<CliResult> {
  return runProcess(process.execPath, ["--import", "tsx", "server/cli/key.ts", ...args], {
    DATABASE_URL: database.url,
    SCALEBOARD_AUTH: "",
  });
}

const listRuns = (secret: string) =>
  fetch(`${server.url}/runs`, { headers: { authorization: `Bearer ${secret}` } }).then((response) => response.status);

describe("scaleboard key", () => {
  it("creates a key whose secret is printed once and works, lists it without the secret, and revokes it", async () => {
    const created = await key(["create", "--scope", "ingest", "--name", "laptop", "--json"]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const { key: secret, id, scope } = JSON.parse(created.stdout) as { key: string; id: string; scope: string };
    expect(scope).toBe("ingest");
    expect(secret).toMatch(/^sb_[A-Za-z0-9]{8}_/);
    expect(await listRuns(secret)).toBe(200);

    const listed = await key(["list"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain("laptop");
    expect(listed.stdout).toContain("active");
    expect(listed.stdout).not.toContain(secret.split("_")[2]);
    const json = JSON.parse((await key(["list", "--json"])).stdout) as Record<string, unknown>[];
    expect(JSON.stringify(json)).not.toContain(secret.split("_")[2]);
    expect(json.find((row) => row.id === id)).not.toHaveProperty("keyHash");

    const revoked = await key(["revoke", id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("Revoked");
    expect(await listRuns(secret)).toBe(401);
    expect((await key(["list"])).stdout).toMatch(/laptop.*revoked/);
  }, 300_000);

  it("refuses bad usage with exit code 2, and an unknown key id as not found", async () => {
    for (const args of [
      ["create", "--scope", "admin", "--name", "x"],
      ["create", "--scope", "ingest"],
      ["revoke"],
      ["rotate"],
      ["list", "--scope", "ingest"],
    ]) {
      const result = await key(args);
      expect(result.code, args.join(" ")).toBe(2);
    }
    const missing = await key(["revoke", "no-such-key"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("API key not found");
  }, 300_000);
});
