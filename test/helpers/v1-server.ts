import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Db } from "../../server/db.ts";
import { handleV1 } from "../../server/http/v1.ts";
import type { RunQueue } from "../../server/queue/boss.ts";

/** The /api/v1 handler behind a plain node:http server: the same code the Next.js route calls. */
export async function startV1Server(db: Db, options: { port?: number; queue?: () => Promise<RunQueue> } = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", async () => {
      const url = new URL(incoming.url ?? "/", "http://localhost");
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) if (typeof value === "string") headers.set(name, value);
      const hasBody = incoming.method !== "GET" && incoming.method !== "HEAD";
      const request = new Request(url, { method: incoming.method, headers, body: hasBody ? Buffer.concat(chunks) : undefined });
      const response = await handleV1(db, request, url.pathname.replace(/^\/api\/v1\/?/, "").split("/").filter(Boolean), { queue: options.queue });
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
