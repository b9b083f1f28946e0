import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc32c, maskedCrc32c } from "../../server/domain/imports/crc32c.ts";
import { formatImportIssue, ImportError } from "../../server/domain/imports/import-issue.ts";
import { parseMetricsCsv } from "../../server/domain/imports/parse-metrics-csv.ts";
import { readTensorboardDir } from "../../server/domain/imports/read-tensorboard-dir.ts";
import { readTfEvents } from "../../server/domain/imports/read-tfevents.ts";
import {
  eventFile,
  fileVersionEvent,
  histogramTensorValue,
  imageValue,
  simpleValue,
  summaryEvent,
  tensorValue,
  tfRecord,
} from "../fixtures/imports/tfevents-writer.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/imports");

/** The issues a parse throws, formatted as the CLI prints them. */
function csvProblems(text: string, file = "m.csv"): string[] {
  try {
    parseMetricsCsv(text, file);
  } catch (error) {
    if (error instanceof ImportError) return error.issues.map(formatImportIssue);
    throw error;
  }
  throw new Error("expected the CSV to be rejected");
}

describe("crc32c", () => {
  it("matches the CRC-32C check value", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array())).toBe(0);
  });

  it("masks as TFRecord does: every event file starts 18 00 .. 00 a3 7f 4b 22", () => {
    // The 24-byte file_version record that TensorFlow writes first, so its header is the same in every file.
    expect(maskedCrc32c(Uint8Array.from([0x18, 0, 0, 0, 0, 0, 0, 0]))).toBe(0x224b7fa3);
    expect([...tfRecord(fileVersionEvent(1_700_000_000)).subarray(0, 12)]).toEqual([
      0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22,
    ]);
  });
});

describe("parseMetricsCsv", () => {
  it("reads runs, keys, steps, values and wall times in the file's column order", async () => {
    const csv = parseMetricsCsv(await readFile(path.join(FIXTURES, "metrics.csv"), "utf8"), "metrics.csv");
    expect(csv.rows).toBe(7);
    expect(csv.replaced).toBe(0);
    expect(csv.runs.map((run) => run.name)).toEqual(["baseline", "wide"]);
    expect(csv.runs[0]!.points).toEqual([
      { key: "train/loss", step: 0, value: 2.5, wallTime: 1_700_000_000 },
      { key: "train/loss", step: 1, value: 1.75, wallTime: 1_700_000_001.5 },
      { key: "val/acc", step: 1, value: 0.5 },
    ]);
    const wide = csv.runs[1]!.points;
    expect(wide.map((point) => [point.key, point.step, point.value])).toEqual([
      ["train/loss", 0, 2.25],
      ["train/loss", 1, Number.NaN],
      ["train/loss", 2, Number.POSITIVE_INFINITY],
      ["grad_norm", 2, Number.NEGATIVE_INFINITY],
    ]);
  });

  it("takes nan and the infinities in any case, a BOM, CRLF, quoting and wall_time spelled Python's way", () => {
    const text =
      '\ufeffValue,STEP,Key,Run,wall_time\r\nnan,0,loss,a,\r\nNaN,1,loss,a,\r\nINF,2,loss,a,\r\n-Inf,3,loss,a,\r\n+inf,4,loss,a,\r\n-infinity,5,loss,a,\r\n1e-3,6,"loss, smoothed","run ""a""",12.5\r\n';
    const csv = parseMetricsCsv(text, "m.csv");
    expect(csv.runs.map((run) => run.name)).toEqual(["a", 'run "a"']);
    expect(csv.runs[0]!.points.map((point) => point.value)).toEqual([
      Number.NaN,
      Number.NaN,
      Infinity,
      -Infinity,
      Infinity,
      -Infinity,
    ]);
    expect(csv.runs[1]!.points).toEqual([{ key: "loss, smoothed", step: 6, value: 0.001, wallTime: 12.5 }]);
  });

  it("keeps the later of two rows for the same run, key and step, and counts it", () => {
    const csv = parseMetricsCsv("run,key,step,value\na,loss,0,1\na,loss,0,2\nb,loss,0,3\n", "m.csv");
    expect(csv.replaced).toBe(1);
    expect(csv.runs[0]!.points).toEqual([{ key: "loss", step: 0, value: 2 }]);
  });

  it("names file:line and the column of every bad row", async () => {
    const problems = csvProblems(
      await readFile(path.join(FIXTURES, "bad-rows.csv"), "utf8"),
      "test/fixtures/imports/bad-rows.csv",
    );
    expect(problems).toEqual([
      'test/fixtures/imports/bad-rows.csv:3: column "value": "one" is not a number (write nan, inf or -inf for those)',
      'test/fixtures/imports/bad-rows.csv:4: column "run": empty: every row names its run',
      'test/fixtures/imports/bad-rows.csv:5: column "step": "-3" is not a whole number from 0 to 2147483647',
      'test/fixtures/imports/bad-rows.csv:6: column "step": "2.5" is not a whole number from 0 to 2147483647',
      "test/fixtures/imports/bad-rows.csv:7: 3 field(s), but the header has 4",
    ]);
  });

  it("reports every problem in one row, and a bad wall time", () => {
    expect(csvProblems("run,key,step,value,wallTime\n\na,,x,,later\n")).toEqual([
      'm.csv:3: column "key": empty: every row names its metric',
      'm.csv:3: column "step": "x" is not a whole number from 0 to 2147483647',
      'm.csv:3: column "value": "" is not a number (write nan, inf or -inf for those)',
      'm.csv:3: column "wallTime": "later" is not a time in seconds since the Unix epoch',
    ]);
  });

  it("requires a header with run, key, step and value, and no unknown or repeated columns", () => {
    expect(csvProblems("run,metric,step,value,step\na,loss,0,1,0\n")).toEqual([
      'm.csv:1: column "metric": unknown column; the columns are run, key, step, value and optionally wallTime',
      'm.csv:1: column "step": "step" appears twice in the header',
      'm.csv:1: the header lacks "key"; it must name the columns run, key, step, value (wallTime optional), in any order',
    ]);
    expect(csvProblems("a,loss,0,1\nb,loss,1,2\n")).toEqual([
      "m.csv:1: the first line must be the header naming the columns run, key, step, value (wallTime optional), in any order",
    ]);
    expect(csvProblems("")).toEqual(["m.csv: the file is empty; it needs a header (run,key,step,value) and rows"]);
    expect(csvProblems("run,key,step,value\n")).toEqual(["m.csv:2: no rows after the header"]);
  });

  it("reports a CSV syntax error with its line", () => {
    expect(csvProblems('run,key,step,value\na,loss,0,1\na,"loss,1,2\n')).toEqual([
      expect.stringMatching(/^m\.csv:3: .*quote/i),
    ]);
  });

  it("stops listing after 50 problems and says how many more", () => {
    const problems = csvProblems(`run,key,step,value\n${"a,loss,0,x\n".repeat(60)}`);
    expect(problems).toHaveLength(51);
    expect(problems.at(-1)).toBe("m.csv: and 10 more problem(s)");
  });
});

describe("readTfEvents", () => {
  const WALL = 1_700_000_000.25;

  function sampleFile() {
    const records = [
      fileVersionEvent(WALL),
      summaryEvent(WALL + 1, 0, simpleValue("loss", 2.5), simpleValue("lr", 0.1)),
      summaryEvent(WALL + 2, 1, simpleValue("loss", Number.NaN), imageValue("samples")),
      summaryEvent(WALL + 3, 2, tensorValue("tf2/float_val", 0.75, { dtype: "float", encoding: "val" })),
      summaryEvent(WALL + 4, 3, tensorValue("tf2/float_content", -1.5, { dtype: "float", encoding: "content" })),
      summaryEvent(WALL + 5, 4, tensorValue("tf2/double_val", 0.1, { dtype: "double", encoding: "val" })),
      summaryEvent(
        WALL + 6,
        5,
        tensorValue("tf2/double_content", Number.POSITIVE_INFINITY, { dtype: "double", encoding: "content" }),
      ),
      summaryEvent(
        WALL + 7,
        6,
        tensorValue("tf2/packed", 3.25, { dtype: "float", encoding: "val", packed: true }),
        histogramTensorValue("weights"),
      ),
      summaryEvent(WALL + 8, 7, simpleValue("loss", 1.25)), // this record gets corrupted below
      summaryEvent(WALL + 9, 3_000_000_000, simpleValue("loss", 9)),
      summaryEvent(WALL + 10, -1, simpleValue("loss", 9)),
      summaryEvent(WALL + 11, 8, simpleValue("loss", 1)),
    ];
    const framed = records.map(tfRecord);
    const corruptAt = framed.slice(0, 8).reduce((sum, record) => sum + record.length, 0);
    const bytes = eventFile(...records);
    bytes[corruptAt + 12 + 5] = bytes[corruptAt + 12 + 5]! ^ 0xff; // a byte inside the 9th record's data
    return {
      bytes,
      corruptAt,
      recordOffsets: framed.map((_, index) => framed.slice(0, index).reduce((sum, record) => sum + record.length, 0)),
    };
  }

  it("reads simple_value and TF2 tensor scalars, skips other summaries, and reports the corrupt record by offset", () => {
    const { bytes, corruptAt } = sampleFile();
    const read = readTfEvents(bytes, "run/events.out.tfevents.1");
    expect(read.records).toBe(11);
    expect(read.scalars.map(({ tag, step, value }) => [tag, step, value])).toEqual([
      ["loss", 0, 2.5],
      ["lr", 0, Math.fround(0.1)],
      ["loss", 1, Number.NaN],
      ["tf2/float_val", 2, 0.75],
      ["tf2/float_content", 3, -1.5],
      ["tf2/double_val", 4, 0.1],
      ["tf2/double_content", 5, Number.POSITIVE_INFINITY],
      ["tf2/packed", 6, 3.25],
      ["loss", 8, 1],
    ]);
    expect(read.scalars[0]!.wallTime).toBe(WALL + 1);
    expect(read.issues.map(formatImportIssue)).toEqual([
      `run/events.out.tfevents.1 at byte ${corruptAt}: corrupt record: the data's checksum does not match; skipped ${tfRecord(summaryEvent(WALL + 8, 7, simpleValue("loss", 1.25))).length - 16} byte(s)`,
      'run/events.out.tfevents.1: 2 value(s) skipped: steps must be from 0 to 2147483647 (first: "loss" at step 3000000000)',
    ]);
  });

  it("finds the next sound record after a corrupt length, and stops at a truncated one", () => {
    const { bytes, recordOffsets } = sampleFile();
    const broken = bytes.slice(0, bytes.length - 7); // the last record is cut short
    const second = recordOffsets[1]!;
    broken[second + 3] = broken[second + 3]! ^ 0x40; // the second record's length no longer matches its checksum
    const read = readTfEvents(broken, "f");
    expect(read.issues.map(formatImportIssue)).toEqual([
      `f at byte ${second}: corrupt record: the length's checksum does not match; skipped ${recordOffsets[2]! - second} byte(s) to the next sound record`,
      expect.stringMatching(/^f at byte \d+: corrupt record: the data's checksum/),
      expect.stringMatching(
        new RegExp(
          `^f at byte ${recordOffsets[11]}: truncated record: it claims \\d+ byte\\(s\\) but the file ends first`,
        ),
      ),
      expect.stringMatching(/steps must be from 0/),
    ]);
    expect(read.scalars.map((scalar) => scalar.step)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("reads an empty file as no records", () => {
    expect(readTfEvents(new Uint8Array(), "f")).toEqual({ scalars: [], records: 0, issues: [] });
  });
});

describe("readTensorboardDir", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "sb-tb-"));
    await mkdir(path.join(dir, "train"), { recursive: true });
    await mkdir(path.join(dir, "eval", "seed=1"), { recursive: true });
    await mkdir(path.join(dir, "graphs-only"), { recursive: true });
    await writeFile(
      path.join(dir, "events.out.tfevents.100.host"),
      eventFile(fileVersionEvent(1), summaryEvent(1, 0, simpleValue("root", 1))),
    );
    // A restarted run: two files in one folder; the later file's value for step 1 wins.
    await writeFile(
      path.join(dir, "train", "events.out.tfevents.100.host"),
      eventFile(
        fileVersionEvent(1),
        summaryEvent(1, 0, simpleValue("loss", 3)),
        summaryEvent(2, 1, simpleValue("loss", 2)),
      ),
    );
    await writeFile(
      path.join(dir, "train", "events.out.tfevents.200.host"),
      eventFile(
        fileVersionEvent(3),
        summaryEvent(3, 1, simpleValue("loss", 1.5)),
        summaryEvent(4, 2, simpleValue("loss", 1)),
      ),
    );
    await writeFile(
      path.join(dir, "eval", "seed=1", "events.out.tfevents.100.host.v2"),
      eventFile(
        fileVersionEvent(1),
        summaryEvent(5, 10, tensorValue("acc", 0.5, { dtype: "float", encoding: "content" })),
      ),
    );
    await writeFile(path.join(dir, "graphs-only", "events.out.tfevents.100.host"), eventFile(fileVersionEvent(1)));
    await writeFile(path.join(dir, "train", "notes.txt"), "not an event file");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("makes one run per folder, named by its path, merging a folder's files in name order", async () => {
    const read = await readTensorboardDir(dir);
    expect(read.files).toBe(5);
    expect(read.runs.map((run) => run.name)).toEqual(["eval/seed=1", path.basename(dir), "train"]);
    expect(read.runs[2]!.points.map(({ key, step, value }) => [key, step, value])).toEqual([
      ["loss", 0, 3],
      ["loss", 1, 1.5],
      ["loss", 2, 1],
    ]);
    expect(read.runs[0]!.points).toEqual([{ key: "acc", step: 10, value: 0.5, wallTime: 5 }]);
    expect(read.issues.map(formatImportIssue)).toEqual([
      `${path.join(dir, "graphs-only")}: run "graphs-only" has no scalars; not imported`,
    ]);
  });

  it("says when the directory is missing or holds no event files", async () => {
    await expect(readTensorboardDir(path.join(dir, "nope"))).rejects.toThrow(/no such directory/);
    await expect(readTensorboardDir(path.join(dir, "train", "notes.txt"))).rejects.toThrow(/not a directory/);
    await mkdir(path.join(dir, "empty"), { recursive: true });
    await expect(readTensorboardDir(path.join(dir, "empty"))).rejects.toThrow(/no events\.out\.tfevents\.\* files/);
  });
});
