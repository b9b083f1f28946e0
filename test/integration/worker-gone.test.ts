import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHealth } from "../../server/domain/health/check-health.ts";
import { registerWorker } from "../../server/domain/worker/register-worker.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/**
 * A worker killed before it could mark itself stopped (SIGKILL, or Ctrl-C stopping the embedded
 * PostgreSQL first) leaves a row with a fresh heartbeat. On its own host the process is checked:
 * health neither lists nor counts it, and the next worker to register marks it stopped.
 */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

function sleeper(): ChildProcess {
  return spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
}

describe("a worker whose process is gone", () => {
  it("is neither listed nor counted alive at once, and is marked stopped when the next worker registers", async () => {
    const child = sleeper();
    const pid = child.pid!;
    await registerWorker(database.db, { name: `w-gone-${pid}`, host: os.hostname(), pid, slots: 2 });
    await registerWorker(database.db, { name: "w-elsewhere", host: "another-host", pid, slots: 1 });

    const before = await checkHealth(database.db);
    expect(before.workers.list.map((worker) => worker.name).sort()).toEqual([`w-gone-${pid}`, "w-elsewhere"].sort());
    expect(before.workers.alive).toBe(2);

    child.kill("SIGKILL");
    await once(child, "exit");
    const after = await checkHealth(database.db);
    // Its heartbeat is seconds old, yet it is not counted: the process is gone. Another host's worker stays.
    expect(after.workers.list.map((worker) => worker.name)).toEqual(["w-elsewhere"]);
    expect(after.workers.alive).toBe(1);

    const row = () => database.db.worker.findFirstOrThrow({ where: { name: `w-gone-${pid}` } });
    expect((await row()).stoppedAt).toBeNull();
    await registerWorker(database.db, {
      name: `w-next-${process.pid}`,
      host: os.hostname(),
      pid: process.pid,
      slots: 2,
    });
    expect((await row()).stoppedAt).toBeInstanceOf(Date);
    const elsewhere = await database.db.worker.findFirstOrThrow({ where: { name: "w-elsewhere" } });
    expect(elsewhere.stoppedAt).toBeNull();
  });

  it("keeps a live worker of this host listed and running", async () => {
    const child = sleeper();
    try {
      const name = `w-live-${child.pid}`;
      await registerWorker(database.db, { name, host: os.hostname(), pid: child.pid!, slots: 1 });
      await registerWorker(database.db, { name: "w-other", host: os.hostname(), pid: process.pid, slots: 1 });
      const health = await checkHealth(database.db);
      expect(health.workers.list.find((worker) => worker.name === name)?.alive).toBe(true);
      expect((await database.db.worker.findFirstOrThrow({ where: { name } })).stoppedAt).toBeNull();
    } finally {
      child.kill("SIGKILL");
    }
  });
});
