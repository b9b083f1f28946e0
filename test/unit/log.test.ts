import { describe, expect, it } from "vitest";
import { parseEnv } from "../../server/env.ts";
import { createLogger } from "../../server/log.ts";

function capture(environment: Record<string, string>, options: { terminal?: boolean } = {}) {
  const lines: string[] = [];
  const log = createLogger({
    level: parseEnv(environment).LOG_LEVEL,
    write: (line) => void lines.push(line),
    ...options,
  });
  return { log, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe("server/log", () => {
  it("LOG_LEVEL=warn drops debug and info lines and keeps warn and error", () => {
    const { log, records } = capture({ LOG_LEVEL: "warn" });
    log.debug("debug line");
    log.info("info line");
    log.warn("warn line");
    log.error("error line");
    expect(records().map((record) => record.msg)).toEqual(["warn line", "error line"]);
  });

  it("with LOG_LEVEL unset, info is kept and debug dropped; LOG_LEVEL=debug keeps debug", () => {
    const unset = capture({});
    unset.log.debug("debug line");
    unset.log.info("info line");
    expect(unset.records().map((record) => record.msg)).toEqual(["info line"]);
    const debug = capture({ LOG_LEVEL: "debug" });
    debug.log.debug("debug line");
    expect(debug.records().map((record) => record.msg)).toEqual(["debug line"]);
  });

  it("a child's lines carry requestId, worker and runId as JSON fields, and an error with its message and stack", () => {
    const { log, records } = capture({});
    log.child({ requestId: "req-1" }).error({ err: new Error("SQLSTATE 22007") }, "tRPC runs.list failed");
    log.setBindings({ worker: "w1" });
    log.child({ runId: "run-9" }).warn("heartbeat failed");
    const [request, run] = records();
    expect(request).toMatchObject({
      requestId: "req-1",
      msg: "tRPC runs.list failed",
      err: { message: "SQLSTATE 22007" },
    });
    expect(String((request!.err as { stack: string }).stack)).toContain("log.test.ts");
    expect(run).toMatchObject({ worker: "w1", runId: "run-9", msg: "heartbeat failed", level: 40 });
  });

  it("on a terminal a record is one readable line with its fields", () => {
    const { log, lines } = capture({}, { terminal: true });
    log.child({ runId: "run-9" }).warn("heartbeat failed");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d WARN heartbeat failed runId=run-9\n$/);
  });
});
