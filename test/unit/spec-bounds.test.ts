import { spawn } from "node:child_process";
import os from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";
import { SpecPool, threadCpuMs } from "../../server/domain/spec/spec-pool.ts";
import { MAX_SPEC_ISSUES, SpecError } from "../../server/domain/spec/spec-issue.ts";

const BASE = [
  "project: bounds",
  "experiment: spec",
  "dataset: { kind: teacher }",
  "model: { family: mlp, width: 8 }",
  "training:",
  "  optimizer: { kind: adam, lr: 0.01 }",
  "  budget: { steps: 10 }",
].join("\n");

function issuesOf(source: string): SpecError["issues"] {
  try {
    parseSpec(source);
  } catch (error) {
    if (error instanceof SpecError) return error.issues;
    throw error;
  }
  throw new Error("the spec parsed");
}

describe("a spec's issues are capped", () => {
  it("60,000 unknown keys give the first 100, located, and a count of the rest", () => {
    const issues = issuesOf(
      `${BASE}\n${Array.from({ length: 60_000 }, (_, index) => `unknown${index}: 1`).join("\n")}`,
    );
    expect(issues).toHaveLength(MAX_SPEC_ISSUES + 1);
    expect(issues[0]).toMatchObject({ path: "unknown0", message: 'unknown key "unknown0"', line: 8, column: 1 });
    expect(issues.at(-1)?.message).toBe(
      "59900 more issues not shown: Scaleboard reports the first 100 issues of a spec",
    );
  });

  it("still finds a repeated key in any mapping, at the repeat", () => {
    const issues = issuesOf(`${BASE}\nsweep:\n  seeds: 2\n  seeds: 3\n`);
    expect(issues).toEqual([{ path: "", message: "YAML: Map keys must be unique", line: 10, column: 3 }]);
  });
});

describe("the spec thread pool", () => {
  const pool = new SpecPool({ timeLimitMs: 300, threads: 1 });
  afterAll(() => pool.close());
  const check = (source: string, force = false) => pool.run({ source, fileName: "spec.yaml", force, want: "count" });

  it("checks a spec in a thread", async () => {
    expect(await check(`${BASE}\nsweep:\n  seeds: 3\n`)).toMatchObject({ kind: "checked", cellCount: 3 });
    expect(await check(`${BASE}\nbogus: 1\n`)).toMatchObject({ kind: "invalid", issues: [{ path: "bogus" }] });
  });

  it("terminates a spec over its time limit, answers with the limit, and checks the next spec in a new thread", async () => {
    await check(BASE);
    const [before] = pool.threadIds;
    await expect(check(`${BASE}\nsweep:\n  seeds: 200000\n`, true)).rejects.toThrow(
      "checking the spec took longer than 0.3 s of processor time, the limit for one spec",
    );
    expect(await check(BASE)).toMatchObject({ kind: "checked", cellCount: 1 });
    expect(pool.threadIds).not.toContain(before);
  });

  it("counts the thread's processor time, not the time it waits for a processor on a busy machine", async () => {
    // Twice as many busy processes as processors, at the usual priority: the spec thread (at a lower
    // one) gets a small share of a processor, so a spec needing about a tenth of the 1 s limit in
    // processor time takes longer than the limit on the clock. A wall-clock limit refused it.
    const busyPool = new SpecPool({ timeLimitMs: 1_000, threads: 1 });
    const spec = {
      source: `${BASE}\nsweep:\n  seeds: 1500\n`,
      fileName: "spec.yaml",
      force: false,
      want: "count",
    } as const;
    await busyPool.run(spec);
    const hogs = Array.from({ length: os.availableParallelism() * 2 }, () =>
      spawn(process.execPath, ["-e", "for (;;);"], { stdio: "ignore" }),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      const results = await Promise.all([busyPool.run(spec), busyPool.run(spec)]);
      console.info(
        `2 checks of 1,500 cells under ${hogs.length} busy processes: ${Date.now() - started} ms on the clock`,
      );
      for (const result of results) expect(result).toMatchObject({ kind: "checked", cellCount: 1500 });
    } finally {
      for (const hog of hogs) hog.kill("SIGKILL");
      await busyPool.close();
    }
  });

  it("diffs two versions in a thread, and refuses two that would take too long with 413 naming the limit", async () => {
    expect(await pool.diff({ from: 1, to: 2, older: `${BASE}\n`, newer: `${BASE}\nnotes: x\n` })).toContain(
      "+notes: x",
    );
    const lines = (prefix: string) =>
      Array.from({ length: 100_000 }, (_, index) => `${prefix}${index}: ${index}`).join("\n");
    await expect(pool.diff({ from: 1, to: 2, older: lines("a"), newer: lines("b") })).rejects.toMatchObject({
      code: "TOO_LARGE",
      message:
        "diffing v1 and v2 took longer than 0.3 s of processor time, the limit for one spec: open the two versions side by side instead",
    });
  });
});

describe("threadCpuMs", () => {
  it("reads a thread's processor time: it grows while the thread computes and never outruns the clock", () => {
    const tid = process.pid; // the main thread's kernel id is the process id
    const before = threadCpuMs(tid);
    const started = Date.now();
    let sum = 0;
    while (Date.now() - started < 200) sum += Math.sqrt(sum + 1);
    const after = threadCpuMs(tid);
    const elapsed = Date.now() - started;
    expect(sum).toBeGreaterThan(0);
    expect(before).not.toBeNull();
    expect(after! - before!).toBeGreaterThan(0);
    // One clock tick (10 ms) of rounding at each end.
    expect(after! - before!).toBeLessThanOrEqual(elapsed + 20);
    expect(threadCpuMs(2 ** 30)).toBeNull();
  });
});
