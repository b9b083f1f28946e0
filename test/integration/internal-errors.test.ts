import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { createTRPCContext, publicProcedure, router } from "../../server/api/trpc.ts";
import { AppError } from "../../server/domain/app-error.ts";
import { createDb } from "../../server/db.ts";

/**
 * What a client sees of an error, through the same HTTP handler and errorFormatter the app uses:
 * bad input is a 400 naming the field; anything unexpected is a 500 with a request id only, and the
 * server log has that id beside the real error.
 */

const PRISMA_LIKE =
  'Invalid `prisma.run.findMany()` invocation: Raw query failed. Code: `22007`. Message: `invalid input syntax for type timestamp: "x"` SQLSTATE 22007';

const testRouter = router({
  explode: publicProcedure.query(() => {
    throw new Error(PRISMA_LIKE);
  }),
  refuse: publicProcedure.query(() => {
    throw new AppError("INVALID_INPUT", "limit is at most 500");
  }),
  echo: publicProcedure.input(z.object({ limit: z.number().int().max(500) })).query(({ input }) => input.limit),
});

async function call(
  procedure: string,
  input: unknown,
): Promise<{
  status: number;
  body: { error?: { json: { message: string; data: Record<string, unknown> } } };
  raw: string;
}> {
  const url = `http://localhost/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: new Request(url),
    router: testRouter,
    createContext: () => createTRPCContext({ db: createDb("postgres://unused@127.0.0.1:1/unused") }),
  });
  const raw = await response.text();
  return { status: response.status, body: JSON.parse(raw), raw };
}

afterEach(() => vi.restoreAllMocks());

describe("tRPC errors as clients see them", () => {
  it("an unexpected error is a 500 'Internal error (request id …)'; the log has the id with the real error", async () => {
    const written = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const result = await call("explode", null);
    expect(result.status).toBe(500);
    const message = result.body.error!.json.message;
    expect(message).toMatch(/^Internal error \(request id [0-9a-f]{12}\); the server log has the details$/);
    for (const secret of ["prisma", "SQLSTATE", "22007", "invalid input syntax", "    at "])
      expect(result.raw).not.toContain(secret);
    expect(result.body.error!.json.data.stack ?? null).toBeNull();
    const requestId = /request id ([0-9a-f]+)/.exec(message)![1]!;
    expect(result.body.error!.json.data.requestId).toBe(requestId);
    const line = written.mock.calls.map((call) => String(call[0])).find((text) => text.includes(requestId));
    expect(line, "the server log names the request id").toBeDefined();
    expect(line).toContain("SQLSTATE 22007");
    expect(line).toContain("explode");
  });

  it("bad input is a 400 naming the field; a domain refusal keeps its message", async () => {
    const bad = await call("echo", { limit: 501 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error!.json.data.zodError)).toContain("limit");
    const refused = await call("refuse", null);
    expect(refused.status).toBe(400);
    expect(refused.body.error!.json.message).toBe("limit is at most 500");
  });
});
