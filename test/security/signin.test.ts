import http from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  mintApiKey,
  sessionCookie,
  signInRequest,
  signUp,
  startServer,
  teamOf,
  trpc,
  type SecurityServer,
  type Session,
} from "./server.ts";

/**
 * Sign-in and keys against a real server with sign-in on and no trusted proxies: X-Forwarded-For
 * is the client's own text there, so it must not change which address a failure counts against.
 */
let server: SecurityServer;
let admin: Session;
let member: Session;
let leaver: Session;
let teamId: string;

beforeAll(async () => {
  server = await startServer();
  admin = await signUp(server, "signin-admin");
  member = await signUp(server, "signin-member");
  leaver = await signUp(server, "signin-leaver");
  teamId = await teamOf(server, admin);
  for (const session of [member, leaver]) {
    const invite = await trpc<{ token: string }>(server, admin, "invite.create", { teamId, role: "admin" }, "mutation");
    const accepted = await trpc(server, session, "invite.accept", { token: invite.data!.token }, "mutation");
    expect(accepted.status, accepted.raw).toBe(200);
  }
}, 240_000);
afterAll(async () => server?.stop());

type Answer = { status: number; headers: http.IncomingHttpHeaders; text: string };

/** A request whose TCP connection really comes from `localAddress` (any 127.x.y.z is this machine on Linux). */
function requestFrom(
  localAddress: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${server.url}${path}`,
      { method: init.method ?? "GET", headers: init.headers, localAddress, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(init.body);
  });
}

function signInFrom(
  localAddress: string,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return requestFrom(localAddress, "/api/auth/sign-in/email", {
    method: "POST",
    headers: { origin: server.url, "content-type": "application/json", ...headers },
    body: JSON.stringify({ email, password }),
  });
}

describe("sign-in throttling", () => {
  test("rotating X-Forwarded-For from an untrusted address still gets 429 with Retry-After, and the owner still signs in from a new address", async () => {
    const statuses: number[] = [];
    let limited: Response | null = null;
    for (let attempt = 0; attempt < 8; attempt++) {
      const response = await signInRequest(server, member.email, `wrong-${attempt}`, {
        "x-forwarded-for": `198.51.100.${attempt + 1}`,
      });
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else await response.body?.cancel();
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await limited!.json()) as { message: string }).toMatchObject({
      message: expect.stringMatching(/try again in \d+ s/),
    });

    // The right password from the attacker's address waits too...
    const sameAddress = await signInRequest(server, member.email, member.password, {
      "x-forwarded-for": "203.0.113.77",
    });
    expect(sameAddress.status).toBe(429);
    // ...but from another address (a real TCP connection from 127.0.0.2) the owner gets in.
    const owner = await signInFrom("127.0.0.2", member.email, member.password);
    expect(owner.status, owner.text).toBe(200);
    expect(owner.headers["set-cookie"]?.some((cookie) => cookie.includes("session_token"))).toBe(true);
  });

  test("an admin of the member's team unlocks sign-in from the Team page's procedure", async () => {
    const before = await signInRequest(server, member.email, member.password);
    expect(before.status).toBe(429);
    const members = await trpc<{ userId: string; signInLimited: boolean }[]>(server, admin, "team.members", { teamId });
    expect(members.data?.find((row) => row.userId === member.userId)?.signInLimited).toBe(true);
    const unlocked = await trpc<{ unlocked: boolean }>(
      server,
      admin,
      "team.unlockSignIn",
      { teamId, userId: member.userId },
      "mutation",
    );
    expect(unlocked.data).toEqual({ userId: member.userId, unlocked: true });
    const after = await signInRequest(server, member.email, member.password);
    expect(after.status, await after.clone().text()).toBe(200);
  });
});

describe("behind a trusted reverse proxy (SCALEBOARD_TRUSTED_PROXIES=loopback)", () => {
  let proxied: SecurityServer;
  let owner: Session;
  beforeAll(async () => {
    proxied = await startServer({ env: { SCALEBOARD_TRUSTED_PROXIES: "loopback" } });
    owner = await signUp(proxied, "proxied-owner");
  }, 240_000);
  afterAll(async () => proxied?.stop());

  test("the address the proxy appended counts, not what the client wrote before it; the owner signs in from a new address", async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 7; attempt++) {
      // What nginx's $proxy_add_x_forwarded_for sends: the client's own header, then the address nginx saw.
      const response = await signInRequest(proxied, owner.email, `wrong-${attempt}`, {
        "x-forwarded-for": `192.0.2.${attempt + 1}, 203.0.113.5`,
      });
      await response.body?.cancel();
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const fromElsewhere = await signInRequest(proxied, owner.email, owner.password, {
      "x-forwarded-for": "198.51.100.20",
    });
    expect(fromElsewhere.status, await fromElsewhere.clone().text()).toBe(200);
    // The session records the address the proxy reported.
    const sessions = await fetch(`${proxied.url}/api/auth/list-sessions`, {
      headers: { cookie: sessionCookie(fromElsewhere) },
    });
    expect(((await sessions.json()) as { ipAddress: string }[]).map((session) => session.ipAddress)).toContain(
      "198.51.100.20",
    );
  });
});

describe("API keys follow their creator's membership", () => {
  const SPEC = `project: Keys
experiment: demoted
dataset: { kind: teacher, inputs: 4 }
model: { family: mlp, width: 8 }
training: { optimizer: { lr: 0.01 }, budget: { steps: 10 } }
`;

  test("a full key whose creator is now a viewer reads but cannot apply a spec", async () => {
    const key = await mintApiKey(server, member, teamId, "full");
    const demoted = await trpc(
      server,
      admin,
      "team.changeRole",
      { teamId, userId: member.userId, role: "viewer" },
      "mutation",
    );
    expect(demoted.status, demoted.raw).toBe(200);
    const read = await trpc(server, key, "team.get", { teamId });
    expect(read.status, read.raw).toBe(200);
    const apply = await trpc(server, key, "spec.applySpec", { teamId, source: SPEC }, "mutation");
    expect(apply.status, apply.raw).toBe(403);
    expect(apply.error?.message).toMatch(/acts as a viewer/);
  });

  test("a removed creator's key gets 401 on tRPC, /api/v1, /api/metrics/series and the worker API", async () => {
    const full = await mintApiKey(server, leaver, teamId, "full");
    const worker = await mintApiKey(server, leaver, teamId, "worker");
    expect((await trpc(server, full, "team.get", { teamId })).status).toBe(200);
    const removed = await trpc(server, admin, "team.removeMember", { teamId, userId: leaver.userId }, "mutation");
    expect(removed.status, removed.raw).toBe(200);

    const viaTrpc = await trpc(server, full, "team.get", { teamId });
    expect(viaTrpc.status).toBe(401);
    expect(viaTrpc.error?.message).toMatch(/Invalid, expired or revoked API key/);
    const bearer = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });
    const v1 = await fetch(`${server.url}/api/v1/runs`, {
      method: "POST",
      headers: bearer(full),
      body: JSON.stringify({ project: "p", experiment: "e", name: "r" }),
    });
    expect(v1.status, await v1.clone().text()).toBe(401);
    const series = await fetch(`${server.url}/api/metrics/series?runs=x&key=loss`, { headers: bearer(full) });
    expect(series.status).toBe(401);
    const claim = await fetch(`${server.url}/api/v1/worker/claim`, {
      method: "POST",
      headers: bearer(worker),
      body: JSON.stringify({ name: "w", host: "h", pid: 1, slots: 1 }),
    });
    expect(claim.status, await claim.clone().text()).toBe(401);
  });
});

describe("session tokens stay in the cookie", () => {
  test("sign-up, sign-in, get-session and list-sessions bodies carry no token, and the cookie works", async () => {
    const email = `tokens-${Date.now()}@example.test`;
    const password = "pw-tokens-0123456789";
    const signUpResponse = await fetch(`${server.url}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { origin: server.url, "content-type": "application/json" },
      body: JSON.stringify({ email, password, name: "Tokens" }),
    });
    expect(signUpResponse.status).toBe(200);
    const signUpBody = await signUpResponse.text();
    const signInResponse = await signInRequest(server, email, password);
    expect(signInResponse.status).toBe(200);
    const cookie = sessionCookie(signInResponse);
    const signInBody = await signInResponse.text();
    const sessionToken = decodeURIComponent(/session_token=([^;]+)/.exec(cookie)![1]!).split(".")[0]!;
    const getSession = await fetch(`${server.url}/api/auth/get-session`, { headers: { cookie } });
    const getSessionBody = await getSession.text();
    const listSessions = await fetch(`${server.url}/api/auth/list-sessions`, { headers: { cookie } });
    const listSessionsBody = await listSessions.text();

    expect(JSON.parse(getSessionBody)).toMatchObject({ user: { email }, session: { userId: expect.any(String) } });
    expect(JSON.parse(listSessionsBody)).toEqual(
      expect.arrayContaining([expect.objectContaining({ userId: expect.any(String) })]),
    );
    for (const [what, body] of Object.entries({ signUpBody, signInBody, getSessionBody, listSessionsBody })) {
      expect(body, what).not.toMatch(/"token"/);
      expect(body, what).not.toContain(sessionToken);
    }
  });
});

describe("better-auth's own rate limiter", () => {
  test("counts sign-ups per real address whatever X-Forwarded-For says (10 a minute)", async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const response = await fetch(`${server.url}/api/auth/sign-up/email`, {
        method: "POST",
        headers: {
          origin: server.url,
          "content-type": "application/json",
          "x-forwarded-for": `198.51.100.${100 + attempt}`,
        },
        body: JSON.stringify({
          email: `flood-${attempt}-${Date.now()}@example.test`,
          password: "pw-flood-0123456789",
          name: "Flood",
        }),
      });
      await response.body?.cancel();
      statuses.push(response.status);
      if (response.status === 429) {
        expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
        break;
      }
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.length).toBeLessThanOrEqual(11);
  });
});

describe("responses", () => {
  test("pages, API routes and /api/health carry the security headers; share pages send no Referer", async () => {
    for (const path of ["/sign-in", "/api/trpc/health.status", "/api/health", "/r/not-a-real-token"]) {
      const response = await fetch(`${server.url}${path}`, { redirect: "manual" });
      await response.body?.cancel();
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("object-src 'none'");
      expect(csp, path).toContain("base-uri 'self'");
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("referrer-policy"), path).toBe(
        path.startsWith("/r/") ? "no-referrer" : "strict-origin-when-cross-origin",
      );
    }
  });

  test("/api/health tells an anonymous caller only up or down; a signed-in one sees details", async () => {
    const anonymous = await fetch(`${server.url}/api/health`);
    expect(anonymous.status).toBe(200);
    const text = await anonymous.text();
    expect(JSON.parse(text)).toEqual({ status: "up" });
    expect(text).not.toMatch(/host|pid|version|127\.0\.0\.1|postgres/i);
    const signedIn = await fetch(`${server.url}/api/health`, { headers: { cookie: admin.cookie } });
    expect(await signedIn.json()).toMatchObject({
      database: { up: true, serverVersion: expect.any(String) },
      workers: { list: expect.any(Array) },
    });
  });
});
