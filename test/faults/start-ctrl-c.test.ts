import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort, startEmbeddedPostgres } from "../../server/database/embedded-postgres.ts";
import { createDb } from "../../server/db.ts";
import { killGroup, startLogged, type LoggedProcess } from "../helpers/fault-processes.ts";

/**
 * `npm start` with a worker, stopped by Ctrl-C (SIGINT to the terminal's whole process group, issue
 * #18): one ready line with the address to open (not Next.js's own banner as well), a quiet and
 * ordered stop (no "Unhandled 'error' event", no stack trace), and the worker marked stopped in the
 * database instead of lingering as "silent". Needs a production build (npm test builds one first).
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const DIST = process.env.SCALEBOARD_NEXT_DIST_DIR || ".next";

let dataDir: string;
let entry: LoggedProcess | undefined;

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, DIST, "BUILD_ID")))
    throw new Error(`no production build in ${DIST}: run \`npx next build\` first (npm test does)`);
  dataDir = await mkdtemp(path.join(os.tmpdir(), "scaleboard-ctrl-c-"));
});
afterAll(async () => {
  if (entry) await killGroup(entry);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("npm start and Ctrl-C", () => {
  it("shows one ready line, stops quietly in order, and leaves its worker marked stopped", async () => {
    const port = await findFreePort();
    const { DATABASE_URL: _unused, ...inherited } = process.env;
    entry = startLogged("npm", ["start", "--silent"], {
      env: {
        ...inherited,
        SCALEBOARD_DATA_DIR: dataDir,
        PORT: String(port),
        SCALEBOARD_WORKERS: "1",
        SCALEBOARD_AUTH: "off",
        DATABASE_URL: "",
      },
    });
    await entry.printed("Ctrl-C to stop", 240_000);
    await entry.printed(/worker \S+ ready/, 120_000);

    const urls = entry.output().match(/https?:\/\/\S+/g) ?? [];
    expect(urls, entry.output()).toEqual([`http://localhost:${port}`]);
    expect(entry.output()).not.toContain("Next.js");

    // Ctrl-C: the terminal signals the whole foreground process group.
    entry.signalGroup("SIGINT");
    const exit = await entry.exited;
    const output = entry.output();
    expect(exit, output).toEqual({ code: 0, signal: null });
    expect(output).toContain("[scaleboard] stopping (SIGINT)");
    expect(output).toContain("[scaleboard] stopped");
    expect(output).not.toMatch(/Unhandled|terminating connection|Error:/);
    expect(output).not.toMatch(/^\s+at /m);
    // The worker stopped before the database did, and says so once.
    expect(output.match(/worker \S+ stopped \(SIGTERM\)/g)).toHaveLength(1);
    expect(output.indexOf("worker")).toBeLessThan(output.lastIndexOf("[scaleboard] stopped"));

    // The worker marked itself stopped while PostgreSQL was still up: nothing is left counted alive.
    const database = await startEmbeddedPostgres({ dataDir });
    const db = createDb(database.url);
    try {
      const workers = await db.worker.findMany({ select: { name: true, stoppedAt: true } });
      expect(workers).toHaveLength(1);
      expect(workers[0]!.stoppedAt).not.toBeNull();
    } finally {
      await db.$disconnect();
      await database.stop();
    }
  }, 480_000);
});
