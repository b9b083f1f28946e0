import { createDb } from "../../server/db.ts";
import { startV1Server } from "./v1-server.ts";

/**
 * The /api/v1 handler as a process of its own (DATABASE_URL, PORT), so a fault test can kill -9 it
 * and start it again on the same port, as a crashed web server would be restarted.
 */
const databaseUrl = process.env.DATABASE_URL;
const port = Number(process.env.PORT);
if (!databaseUrl || !Number.isInteger(port)) {
  console.error("api-process: set DATABASE_URL and PORT");
  process.exit(2);
}
const server = await startV1Server(createDb(databaseUrl), { port });
console.log(`api listening on ${server.url}`);
