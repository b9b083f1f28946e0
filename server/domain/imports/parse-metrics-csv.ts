import {
  ImportError,
  MAX_KEY_LENGTH,
  MAX_RUN_NAME_LENGTH,
  MAX_STEP,
  type ImportIssue,
  type ImportedRun,
} from "./import-issue.ts";
import { readCsvRecords } from "./read-csv-records.ts";

/**
 * Metrics in long form, one point a row: `run, key, step, value` and an optional `wallTime`
 * (seconds since the Unix epoch), in any column order, under a header. Values may be nan, inf
 * or -inf in any case, as Python, R and C print them. Every bad row is reported with file:line
 * and the column, and then nothing is imported.
 */

export type MetricsCsv = {
  runs: ImportedRun[];
  /** Data rows read. */
  rows: number;
  /** Rows that repeated an earlier (run, key, step): the later row's value is the one kept. */
  replaced: number;
};

type Column = "run" | "key" | "step" | "value" | "wallTime";
const REQUIRED: Column[] = ["run", "key", "step", "value"];
const COLUMN_NAMES: Record<string, Column> = {
  run: "run",
  key: "key",
  step: "step",
  value: "value",
  walltime: "wallTime",
};
const MAX_ISSUES = 50;

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

export function parseMetricValue(text: string): number | null {
  const lower = text.toLowerCase();
  if (lower === "nan" || lower === "+nan" || lower === "-nan") return Number.NaN;
  if (/^\+?inf(inity)?$/.test(lower)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/.test(lower)) return Number.NEGATIVE_INFINITY;
  return DECIMAL.test(text) ? Number(text) : null;
}

function columnOf(header: string): Column | null {
  return COLUMN_NAMES[header.toLowerCase().replace(/[^a-z]/g, "")] ?? null;
}

export function parseMetricsCsv(text: string, file: string): MetricsCsv {
  const issues: ImportIssue[] = [];
  let issueCount = 0;
  const report = (issue: Omit<ImportIssue, "file">) => {
    issueCount++;
    if (issues.length < MAX_ISSUES) issues.push({ file, ...issue });
  };

  let positions: Partial<Record<Column, number>> | null = null;
  let headerFailed = false;
  let width = 0;
  let rows = 0;
  let replaced = 0;
  const runs = new Map<string, Map<string, ImportedRun["points"][number]>>();

  const readHeader = (record: string[], line: number) => {
    const found: Partial<Record<Column, number>> = {};
    record.forEach((header, index) => {
      const column = columnOf(header);
      if (!column)
        report({
          line,
          column: header,
          message: `unknown column; the columns are ${REQUIRED.join(", ")} and optionally wallTime`,
        });
      else if (found[column] !== undefined)
        report({ line, column: header, message: `"${column}" appears twice in the header` });
      else found[column] = index;
    });
    const missing = REQUIRED.filter((column) => found[column] === undefined);
    if (missing.length === REQUIRED.length) {
      issues.length = 0;
      issueCount = 0;
      report({
        line,
        message: `the first line must be the header naming the columns ${REQUIRED.join(", ")} (wallTime optional), in any order`,
      });
    } else if (missing.length)
      report({
        line,
        message: `the header lacks ${missing.map((column) => `"${column}"`).join(", ")}; it must name the columns ${REQUIRED.join(", ")} (wallTime optional), in any order`,
      });
    positions = found;
    width = record.length;
    headerFailed = issueCount > 0;
  };

  const readRow = (columns: Partial<Record<Column, number>>, record: string[], line: number) => {
    rows++;
    if (record.length !== width) {
      report({ line, message: `${record.length} field(s), but the header has ${width}` });
      return;
    }
    const cell = (column: Column) => (columns[column] === undefined ? "" : record[columns[column]]!);
    let ok = true;
    const fail = (column: Column, message: string) => {
      report({ line, column, message });
      ok = false;
    };

    const run = cell("run");
    if (!run) fail("run", "empty: every row names its run");
    else if (run.length > MAX_RUN_NAME_LENGTH) fail("run", `longer than ${MAX_RUN_NAME_LENGTH} characters`);
    const key = cell("key");
    if (!key) fail("key", "empty: every row names its metric");
    else if (key.length > MAX_KEY_LENGTH) fail("key", `longer than ${MAX_KEY_LENGTH} characters`);
    const stepText = cell("step");
    const step = DECIMAL.test(stepText) ? Number(stepText) : Number.NaN;
    if (!Number.isInteger(step) || step < 0 || step > MAX_STEP)
      fail("step", `${JSON.stringify(stepText)} is not a whole number from 0 to ${MAX_STEP}`);
    const valueText = cell("value");
    const value = parseMetricValue(valueText);
    if (value === null)
      fail("value", `${JSON.stringify(valueText)} is not a number (write nan, inf or -inf for those)`);
    let wallTime: number | undefined;
    const wallText = cell("wallTime");
    if (wallText && wallText.toLowerCase() !== "nan") {
      wallTime = parseMetricValue(wallText) ?? Number.NaN;
      if (!Number.isFinite(wallTime))
        fail("wallTime", `${JSON.stringify(wallText)} is not a time in seconds since the Unix epoch`);
    }
    if (!ok) return;

    let points = runs.get(run);
    if (!points) {
      points = new Map();
      runs.set(run, points);
    }
    const id = `${key}\u0000${step}`;
    if (points.has(id)) replaced++;
    points.set(id, { key, step, value: value!, ...(wallTime !== undefined ? { wallTime } : {}) });
  };

  readCsvRecords(
    text,
    (record, line) => {
      if (positions === null) readHeader(record, line);
      else if (!headerFailed) readRow(positions, record, line);
      else rows++; // with a wrong header, every row would be wrong too
    },
    report,
  );

  if (positions === null && issueCount === 0)
    report({ message: "the file is empty; it needs a header (run,key,step,value) and rows" });
  else if (rows === 0 && issueCount === 0) report({ line: 2, message: "no rows after the header" });
  if (issueCount > issues.length) issues.push({ file, message: `and ${issueCount - issues.length} more problem(s)` });
  if (issues.length) throw new ImportError(issues);

  return { runs: [...runs].map(([name, points]) => ({ name, points: [...points.values()] })), rows, replaced };
}
