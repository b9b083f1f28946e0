import { spawn } from "node:child_process";
import path from "node:path";
import { expect, test } from "@playwright/test";
import superjson from "superjson";

/** `scaleboard plan/apply --server URL` with an API key, against the product started as `npm start` starts it. */

const ROOT = path.resolve(import.meta.dirname, "../..");

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/scaleboard.js", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test("the CLI plans and applies through the server with an API key, and a revoked key is refused", async ({
  request,
  baseURL,
}) => {
  const origin = { origin: baseURL! };
  // Its own team, so the Local team stays empty for the other tests on this server.
  const team = await request.post(`/api/trpc/team.create`, {
    headers: origin,
    data: { json: { name: "CLI over HTTP" } },
  });
  expect(team.status()).toBe(200);
  const teamId = superjson.deserialize<{ id: string }>((await team.json()).result.data).id;
  const created = await request.post(`/api/trpc/apiKey.create`, {
    headers: origin,
    data: { json: { teamId, name: "cli e2e", scope: "full" } },
  });
  expect(created.status()).toBe(200);
  const { key, apiKey } = superjson.deserialize<{ key: string; apiKey: { id: string } }>(
    (await created.json()).result.data,
  );

  const spec = "test/fixtures/cli/server.yaml";
  const env = { SCALEBOARD_API_KEY: key, DATABASE_URL: "" };
  const plan = await cli(["plan", spec, "--server", baseURL!, "--json"], env);
  expect(plan.stderr).toBe("");
  expect(plan.code).toBe(0);
  expect(JSON.parse(plan.stdout).create).toHaveLength(4);

  const applied = await cli(["apply", spec, "--server", baseURL!, "--yes"], env);
  expect(applied.code).toBe(0);
  expect(applied.stdout).toContain("Applied: 4 new run(s) queued");
  const again = await cli(["apply", spec, "--server", baseURL!, "--yes"], env);
  expect(again.stdout).toContain("Nothing to do");

  const bad = await cli(["plan", "test/fixtures/cli/bad.yaml", "--server", baseURL!], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/bad\.yaml:6:3: model\.widht: unknown key "widht"; did you mean "width"\?/);

  await request.post(`/api/trpc/apiKey.revoke`, { headers: origin, data: { json: { teamId, keyId: apiKey.id } } });
  const refused = await cli(["plan", spec, "--server", baseURL!], env);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("revoked");
});
