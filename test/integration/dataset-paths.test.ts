import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confineDatasetPaths, localSpecFolder } from "../../server/domain/datasets/confine-dataset-paths.ts";
import {
  checkDatasetPath,
  datasetRoots,
  DatasetPathError,
  resolveDatasetPath,
  workerDatasetAccess,
  type DatasetRoot,
} from "../../server/domain/datasets/resolve-dataset-path.ts";
import { parseEnv } from "../../server/env.ts";
import { cellHash } from "../../server/domain/spec/cell-identity.ts";
import { expandSweep } from "../../server/domain/spec/expand-sweep.ts";
import { parseSpec } from "../../server/domain/spec/parse-spec.ts";
import { SpecError } from "../../server/domain/spec/spec-issue.ts";
import { prepareData } from "../../worker/training/datasets.ts";

/** The rule at plan time (confineDatasetPaths) and in the worker (resolveDatasetPath, prepareData), on real files and links. */

const ROOT = realpathSync(fileURLToPath(new URL("../../", import.meta.url)));
const EXAMPLE_CSV = path.join(ROOT, "examples/data/linear-regression.csv");
const scratch = realpathSync(mkdtempSync(path.join(tmpdir(), "scaleboard-dataset-paths-")));
const datasets = path.join(scratch, "datasets");
const specDir = path.join(scratch, "project");
const outside = path.join(scratch, "outside");
let roots: DatasetRoot[];
// The worker's code reads its settings from the environment (env(), parsed once): a server with sign-in on.
process.env.SCALEBOARD_DATASETS_DIR = datasets;
process.env.SCALEBOARD_AUTH = "on";

const HEADER = "a,b,y\n";
const SECRET = "root:x:0:0:root:/root:/bin/bash";

beforeAll(() => {
  for (const dir of [datasets, path.join(datasets, "nested"), specDir, outside]) mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(datasets, "ok.csv"), `${HEADER}1,2,3\n4,5,6\n`);
  writeFileSync(path.join(datasets, "nested", "deep.csv"), `${HEADER}1,2,3\n`);
  writeFileSync(path.join(outside, "secret.csv"), `${SECRET}\n${SECRET}\n`);
  writeFileSync(path.join(specDir, "local.csv"), `${HEADER}1,2,3\n4,5,6\n7,8,9\n`);
  // Both names exist: the earlier root wins.
  writeFileSync(path.join(specDir, "ok.csv"), `${HEADER}9,9,9\n`);
  symlinkSync(path.join(outside, "secret.csv"), path.join(datasets, "link-out.csv"));
  symlinkSync(outside, path.join(datasets, "dir-out"));
  symlinkSync(path.join(datasets, "ok.csv"), path.join(datasets, "link-in.csv"));
  writeFileSync(path.join(datasets, "not-numbers.csv"), `${HEADER}1,2,3\n4,${SECRET.replaceAll(",", ";")},6\n`);
  writeFileSync(path.join(datasets, "ragged.csv"), `${HEADER}1,2,3\n"${SECRET}\n`);
  writeFileSync(path.join(datasets, "hosts-like.csv"), "127.0.0.1 localhost\n::1 ip6-localhost ip6-loopback\n");
  roots = datasetRoots({ env: parseEnv({ SCALEBOARD_DATASETS_DIR: datasets }) });
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetPathError);
    expect((error as DatasetPathError).reason).toBe("outside");
    return (error as Error).message;
  }
  throw new Error("expected the path to be refused");
}

describe("resolveDatasetPath", () => {
  it("reads relative paths from SCALEBOARD_DATASETS_DIR, then examples/, then the spec's folder, following links inside them", () => {
    expect(roots.map((root) => root.name)).toEqual(["SCALEBOARD_DATASETS_DIR", "examples/"]);
    expect(resolveDatasetPath("ok.csv", roots)).toBe(path.join(datasets, "ok.csv"));
    expect(resolveDatasetPath("nested/../nested/deep.csv", roots)).toBe(path.join(datasets, "nested/deep.csv"));
    expect(resolveDatasetPath("data/linear-regression.csv", roots)).toBe(EXAMPLE_CSV);
    expect(resolveDatasetPath("link-in.csv", roots)).toBe(path.join(datasets, "ok.csv"));
    expect(resolveDatasetPath(path.join(datasets, "ok.csv"), roots)).toBe(path.join(datasets, "ok.csv"));
    const withSpec = datasetRoots({ env: parseEnv({ SCALEBOARD_DATASETS_DIR: datasets }), specFolder: specDir });
    expect(withSpec.map((root) => root.name)).toEqual(["SCALEBOARD_DATASETS_DIR", "examples/", "the spec's folder"]);
    expect(resolveDatasetPath("ok.csv", withSpec)).toBe(path.join(datasets, "ok.csv"));
    expect(resolveDatasetPath("local.csv", withSpec)).toBe(path.join(specDir, "local.csv"));
    expect(resolveDatasetPath(path.join(specDir, "local.csv"), withSpec)).toBe(path.join(specDir, "local.csv"));
  });

  it("refuses absolute paths outside the roots, .. escapes and links that lead outside, naming the rule", () => {
    expect(refusal(() => resolveDatasetPath("/etc/hosts", roots))).toBe(
      "dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples/; /etc/hosts is not",
    );
    expect(refusal(() => resolveDatasetPath("../../../../etc/passwd", roots))).toBe(
      "dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples/; ../../../../etc/passwd climbs out of them with ..",
    );
    expect(refusal(() => resolveDatasetPath("nested/../../outside/secret.csv", roots))).toMatch(
      /climbs out of them with \.\.$/,
    );
    expect(refusal(() => resolveDatasetPath(path.join(datasets, "../outside/secret.csv"), roots))).toMatch(/is not$/);
    expect(refusal(() => resolveDatasetPath("link-out.csv", roots))).toBe(
      "dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples/; link-out.csv leads outside them through a symbolic link",
    );
    expect(refusal(() => resolveDatasetPath("dir-out/secret.csv", roots))).toMatch(/through a symbolic link$/);
    // Missing or present, a file under a link out of the root gets the same answer: no probing for files outside.
    expect(refusal(() => checkDatasetPath("dir-out/no-such.csv", roots))).toBe(
      refusal(() => checkDatasetPath("dir-out/secret.csv", roots)).replace("secret", "no-such"),
    );
    expect(refusal(() => checkDatasetPath("dir-out/deeper/no-such.csv", roots))).toMatch(/through a symbolic link$/);
    expect(refusal(() => resolveDatasetPath(path.join(ROOT, "package.json"), roots))).toMatch(/is not$/);
    expect(refusal(() => resolveDatasetPath("ok.csv\u0000", roots))).toMatch(/NUL/);
    // The spec's folder is a root only where it is given (the local CLI in single-user mode).
    expect(refusal(() => resolveDatasetPath(path.join(specDir, "local.csv"), roots))).toMatch(/is not$/);
    // No message names where the roots are on the server, or quotes the file.
    for (const file of ["/etc/hosts", "link-out.csv", "dir-out/secret.csv"]) {
      const message = refusal(() => resolveDatasetPath(file, roots));
      expect(message).not.toContain(ROOT);
      expect(message).not.toContain(outside);
      expect(message).not.toContain("root:x");
    }
  });

  it("names the roots, not their server paths, for a file no root holds; a remote worker may hold it, so the plan allows it", () => {
    const missing = (() => {
      try {
        resolveDatasetPath("nope.csv", roots);
      } catch (error) {
        return error as DatasetPathError;
      }
      throw new Error("expected an error");
    })();
    expect(missing.reason).toBe("missing");
    expect(missing.message).toBe("dataset.path: nope.csv not found in SCALEBOARD_DATASETS_DIR, examples/");
    expect(checkDatasetPath("nope.csv", roots)).toEqual({ path: null, root: null });
    expect(checkDatasetPath(path.join(datasets, "later.csv"), roots)).toEqual({ path: null, root: null });
    // A SCALEBOARD_DATASETS_DIR that does not exist (yet) holds nothing, and refuses nothing inside it.
    const absent = datasetRoots({ env: parseEnv({ SCALEBOARD_DATASETS_DIR: path.join(scratch, "absent") }) });
    expect(checkDatasetPath("sub/file.csv", absent)).toEqual({ path: null, root: null });
  });

  it("a worker reads only inside the roots unless it is the local single-user worker", () => {
    expect(workerDatasetAccess(parseEnv({ DATABASE_URL: "postgres://x@h/db" })).anyAbsolute).toBe(false);
    expect(workerDatasetAccess(parseEnv({ SCALEBOARD_AUTH: "off" })).anyAbsolute).toBe(false);
    expect(
      workerDatasetAccess(parseEnv({ SCALEBOARD_AUTH: "off", DATABASE_URL: "postgres://x@h/db" })).anyAbsolute,
    ).toBe(true);
    // Even then, .. escapes and links out of the roots stay refused for relative paths.
    expect(refusal(() => resolveDatasetPath("../../../../etc/passwd", roots, { anyAbsolute: true }))).toMatch(
      /climbs out/,
    );
  });
});

const spec = (dataset: string, extra = "") => `project: P
experiment: E
dataset:
  kind: csv
  path: ${dataset}
  features: [a, b]
  target: y
model: { family: linear }
training: { optimizer: { kind: sgd, lr: 0.01 }, budget: { steps: 2 } }
${extra}`;

function confine(source: string, specFolder: string | null = null) {
  const parsed = parseSpec(source, "spec.yaml");
  return confineDatasetPaths(parsed, expandSweep(parsed), {
    specFolder,
    env: parseEnv({ SCALEBOARD_DATASETS_DIR: datasets }),
  });
}

function issuesOf(run: () => unknown) {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return (error as SpecError).issues;
  }
  throw new Error("expected a SpecError");
}

describe("confineDatasetPaths (plan, apply and validate)", () => {
  it("refuses a spec whose csv path leaves the roots with an issue at dataset.path, located in the file", () => {
    expect(issuesOf(() => confine(spec("/etc/hosts")))).toEqual([
      {
        path: "dataset.path",
        message: "dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples/; /etc/hosts is not",
        line: 5,
        column: 9,
      },
    ]);
    expect(issuesOf(() => confine(spec("link-out.csv")))[0]!.message).toMatch(/through a symbolic link/);
    expect(issuesOf(() => confine(spec("../../../../etc/passwd")))[0]!.message).toMatch(/climbs out/);
  });

  it("blames the sweep entry when the path is swept, once per bad path", () => {
    const issues = issuesOf(() =>
      confine(spec("ok.csv", "sweep:\n  parameters:\n    dataset.path: [ok.csv, /etc/passwd, ../x.csv]\n")),
    );
    expect(issues.map((issue) => [issue.path, issue.line, issue.column])).toEqual([
      ["dataset.path", 12, 28],
      ["dataset.path", 12, 41],
    ]);
  });

  it("keeps allowed paths as written; the local CLI's spec folder turns a file only it holds into an absolute path", () => {
    const kept = confine(spec("ok.csv"));
    expect(kept[0]!.config.dataset).toMatchObject({ kind: "csv", path: "ok.csv" });
    expect(confine(spec("not-yet-there.csv"))[0]!.config.dataset).toMatchObject({ path: "not-yet-there.csv" });
    // Not in any root of this server (a remote worker's own SCALEBOARD_DATASETS_DIR may hold it): left to the worker.
    expect(confine(spec("local.csv"))[0]!.config.dataset).toMatchObject({ path: "local.csv" });
  });

  it("local CLI: the spec's folder is a root; its files are written into the cells as absolute paths with matching hashes", () => {
    const [cell] = confine(spec("local.csv"), specDir);
    expect(cell!.config.dataset).toMatchObject({ path: path.join(specDir, "local.csv") });
    expect(cell!.cellHash).toBe(cellHash(cell!.config));
    // Found in an earlier root: left relative (the worker finds it there too).
    expect(confine(spec("ok.csv"), specDir)[0]!.config.dataset).toMatchObject({ path: "ok.csv" });
    expect(localSpecFolder({ localCli: true, authMode: "off" }, path.join(specDir, "spec.yaml"))).toBe(specDir);
    expect(localSpecFolder({ localCli: true, authMode: "on" }, path.join(specDir, "spec.yaml"))).toBeNull();
    expect(localSpecFolder({ localCli: false, authMode: "off" }, path.join(specDir, "spec.yaml"))).toBeNull();
  });
});

describe("the worker reads only inside the roots, and its errors quote nothing past the header line", () => {
  const config = (file: string) => {
    const parsed = parseSpec(spec(file), "spec.yaml");
    return expandSweep(parsed)[0]!.config;
  };
  const failure = (file: string) => {
    try {
      prepareData(config(file));
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("expected prepareData to fail");
  };

  it("refuses paths outside the roots before reading them", () => {
    expect(failure("/etc/hosts")).toBe(
      "dataset paths must be inside SCALEBOARD_DATASETS_DIR or examples/; /etc/hosts is not",
    );
    expect(failure("link-out.csv")).toMatch(/through a symbolic link/);
    expect(failure("nope.csv")).toBe("dataset.path: nope.csv not found in SCALEBOARD_DATASETS_DIR, examples/");
  });

  it("shows the header line at most: a bad cell or a broken file is named by line, not quoted", () => {
    expect(failure("hosts-like.csv")).toBe(
      'dataset: column "a" is not in hosts-like.csv (columns: 127.0.0.1 localhost)',
    );
    expect(failure("not-numbers.csv")).toBe("dataset: not-numbers.csv line 3: column b is not a number");
    const ragged = failure("ragged.csv");
    expect(ragged).toMatch(/^dataset: ragged.csv is not valid CSV/);
    for (const message of [failure("not-numbers.csv"), ragged]) expect(message).not.toContain("root:x");
  });

  it("trains from a file in SCALEBOARD_DATASETS_DIR", () => {
    expect(prepareData(config("ok.csv")).trainCount + prepareData(config("ok.csv")).valCount).toBe(2);
  });
});
