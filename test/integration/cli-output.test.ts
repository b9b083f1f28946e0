import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { localCliSuite } from "../helpers/local-cli.ts";

/**
 * What `scaleboard` prints (issue #18, small items): the key command through the bin, a plan's
 * unknown FLOPs and dropped IsoFLOP cells, status counting `crashed`, the live status display on a
 * narrow terminal and after Ctrl-C, and a team without an admin.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
/** Spinner glyphs (braille and ASCII) a progress display could leave behind. */
const SPINNER = /[\u2800-\u28ff]|(^|\n)\s*[|/\\-]\s*$/;
const ESC = "\u001b";
/** A terminal escape sequence (CSI), and the live display's "move up N rows, clear below". */
const CSI = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, "g");
const MOVE_UP = new RegExp(`${ESC}\\[(\\d+)A`, "g");
const REDRAW = new RegExp(`\\r?${ESC}\\[\\d+A${ESC}\\[0J`);
const local = localCliSuite();
const cli = local.cli;

/** The text a terminal shows: a line cleared (ESC [2K) keeps only what follows; other escapes and CRs removed. */
function visible(text: string): string {
  return text
    .split("\n")
    .map((line) => line.split("\u001b[2K").at(-1)!)
    .join("\n")
    .replace(CSI, "")
    .replace(/\r/g, "");
}

describe("scaleboard CLI output", () => {
  it("refuses clearly when the only team has no admin, then acts as its admin once it has one", async () => {
    const team = await local.database.db.team.create({ data: { name: "Lab", slug: "lab" } });
    const user = await local.database.db.user.create({
      data: { id: "member-1", name: "Member", email: "m@example.com" },
    });
    await local.database.db.membership.create({ data: { teamId: team.id, userId: user.id, role: "viewer" } });

    const refused = await cli("apply", "examples/mlp-width-scaling.yaml", "--yes");
    expect(refused.stderr).not.toMatch(/must not be null|prisma|\n\s+at /i);
    expect(refused.stderr).toContain('Team "lab" has no admin');
    expect(refused.code).toBe(1);
    expect(await local.database.db.run.count()).toBe(0);

    await local.database.db.membership.updateMany({ where: { userId: user.id }, data: { role: "admin" } });
    const applied = await cli("apply", "examples/mlp-width-scaling.yaml", "--yes");
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(await local.database.db.run.count()).toBe(21);
  }, 300_000);

  it("runs `scaleboard key` through the bin", async () => {
    const listed = await cli("key", "list", "--json");
    expect(listed.stderr).not.toContain("unknown command");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([]);
    const help = await cli("--help");
    expect(help.stdout).toMatch(/key create\|list\|revoke/);
  }, 300_000);

  it("says why a CSV spec's FLOPs and time are unknown instead of '? FLOPs' and 'about 0.0s'", async () => {
    // A finished run gives the team a measured speed, so the planner has a FLOP/s to estimate with.
    const run = await local.database.db.run.findFirstOrThrow();
    await local.database.db.run.update({
      where: { id: run.id },
      data: { status: "succeeded", totalFlops: 1e9, wallClockSeconds: 10, finishedAt: new Date() },
    });
    const known = await cli("plan", "examples/compute-optimal.yaml");
    expect(known.code).toBe(0);
    expect(known.stdout).toMatch(/\d\S* FLOPs, about \S+ of training \(at this team's measured speed\)/);

    const csv = await cli("plan", "examples/linear-regression.yaml");
    expect(csv.code).toBe(0);
    expect(csv.stdout).not.toContain("? FLOPs");
    expect(csv.stdout).not.toContain("about 0.0s");
    expect(csv.stdout).toContain("FLOPs unknown for csv datasets until a worker reads the file");
  }, 300_000);

  it("prints the cells an IsoFLOP sweep dropped, with why", async () => {
    const result = await cli("plan", "examples/compute-optimal.yaml");
    expect(result.code).toBe(0);
    const json = JSON.parse((await cli("plan", "examples/compute-optimal.yaml", "--json")).stdout) as {
      dropped: { name: string; reason: string }[];
    };
    expect(json.dropped.length).toBeGreaterThan(0);
    expect(result.stdout).toContain(`Dropped by the IsoFLOP sweep (${json.dropped.length}):`);
    const first = json.dropped[0]!;
    expect(result.stdout).toContain(`  x ${first.name}: ${first.reason}`);
  }, 300_000);

  it("counts crashed runs in status, as finished", async () => {
    const run = await local.database.db.run.findFirstOrThrow();
    await local.database.db.run.updateMany({ data: { status: "canceled" } });
    await local.database.db.run.update({ where: { id: run.id }, data: { status: "crashed" } });
    const list = await cli("status");
    expect(list.code).toBe(0);
    const [header, row] = list.stdout.trim().split("\n");
    const columns = header!.split(/\s{2,}/);
    expect(columns).toContain("CRASHED");
    expect(row!.split(/\s{2,}/)[columns.indexOf("CRASHED")]).toBe("1");
    // Without a terminal, status prints once; a crashed run is finished, and nothing is left behind.
    const one = await cli("status", "mlp-width");
    expect(one.code).toBe(0);
    expect(one.stdout).toContain("21/21 finished");
    expect(one.stdout).not.toContain(ESC);
    expect(one.stdout.trimEnd()).not.toMatch(SPINNER);
  }, 300_000);

  it("redraws the live status over wrapped lines on a narrow terminal and ends cleanly on Ctrl-C", async () => {
    await local.database.db.run.updateMany({ data: { status: "queued" } });
    // A pseudo terminal 40 columns wide (script(1)); Ctrl-C is typed into it once two frames are drawn.
    // script runs $SHELL -c: the shell execs the CLI, or a non-interactive dash would die of the same
    // Ctrl-C (exit 130) whatever the CLI does. SHELL is pinned to dash so every machine runs this alike.
    const child = spawn(
      "script",
      ["-qfec", "stty cols 40 rows 50; exec node bin/scaleboard.js status mlp-width", "/dev/null"],
      {
        cwd: ROOT,
        env: { ...process.env, SHELL: "/bin/sh", DATABASE_URL: local.database.url, SCALEBOARD_AUTH: "" },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let output = "";
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk) => {
        output += chunk;
        if ((output.match(/finished/g) ?? []).length >= 2) resolve();
      });
      child.on("exit", () => resolve());
    });
    child.stdin.write("\u0003");
    const code = await exited;
    expect(code).toBe(0);

    // Every redraw moves up over as many screen rows as the frame before it took at 40 columns.
    const frames = output.split(REDRAW);
    const moves = [...output.matchAll(MOVE_UP)].map((match) => Number(match[1]));
    expect(moves.length).toBeGreaterThan(0);
    for (const [index, rows] of moves.entries()) {
      const lines = visible(frames[index]!).replace(/\n$/, "").split("\n");
      expect(rows).toBe(lines.reduce((sum, line) => sum + Math.max(1, Math.ceil([...line].length / 40)), 0));
    }
    expect(Math.max(...moves)).toBeGreaterThan(23);
    const end = visible(output).trimEnd();
    expect(end.split("\n").at(-1)).toBe("Stopped following (the runs go on).");
    expect(end).not.toMatch(SPINNER);
  }, 300_000);
});
