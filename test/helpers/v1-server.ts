import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Db } from "../../server/db.ts";
import { createApiKey } from "../../server/domain/api-key/create-api-key.ts";
import { handleV1 } from "../../server/http/v1.ts";
import type { RunQueue } from "../../server/queue/boss.ts";
import { createTeamWith, createUser } from "./actors.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

/**
 * A fetch-style handler behind a plain node:http server, as a Next.js route calls it: the request is
 * rebuilt with its method, string headers and (for methods other than GET/HEAD) its body.
 */
export async function startHandlerServer(
  handle: (request: Request, url: URL) => Promise<Response>,
  port = 0,
): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", async () => {
      const url = new URL(incoming.url ?? "/", "http://localhost");
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers))
        if (typeof value === "string") headers.set(name, value);
      const hasBody = incoming.method !== "GET" && incoming.method !== "HEAD";
      const request = new Request(url, {
        method: incoming.method,
        headers,
        body: hasBody ? Buffer.concat(chunks) : undefined,
      });
      const response = await handle(request, url);
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The /api/v1 handler behind a plain node:http server: the same code the Next.js route calls. */
export async function startV1Server(
  db: Db,
  options: { port?: number; queue?: () => Promise<RunQueue> } = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const segments = (url: URL) =>
    url.pathname
      .replace(/^\/api\/v1\/?/, "")
      .split("/")
      .filter(Boolean);
  const server = await startHandlerServer(
    (request, url) => handleV1(db, request, segments(url), { queue: options.queue }),
    options.port,
  );
  return { url: `${server.origin}/api/v1`, close: server.close };
}

/** A database, /api/v1 on it, and an ingest key of a new team with one admin: what most /api/v1 tests start from. */
export async function startV1WithIngestKey(): Promise<{
  database: TestDatabase;
  server: { url: string; close: () => Promise<void> };
  key: string;
  close: () => Promise<void>;
}> {
  const database = await createTestDatabase();
  const server = await startV1Server(database.db);
  const admin = await createUser(database.db);
  const team = await createTeamWith(database.db, { [admin.id]: "admin" });
  const { key } = await createApiKey(database.db, team.id, admin.id, { name: "ingest", scope: "ingest" });
  return {
    database,
    server,
    key,
    close: async () => {
      await server.close();
      await database.drop();
    },
  };
}
