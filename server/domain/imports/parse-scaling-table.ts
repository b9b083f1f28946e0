import { ImportError, type ImportIssue } from "./import-issue.ts";
import { readCsvRecords } from "./read-csv-records.ts";

/**
 * A table of finished training runs, one a row, under a header: `params` (N), `tokens` (D) and
 * `loss` required, `flops` (C; 6·N·D when absent) and `seed` optional, in any order; every other
 * column is a configuration value of the run (a number when it reads as one). Such tables are how
 * scaling results are published (Hoffmann et al. 2022's Figure 4, as digitised by Besiroglu et al.
 * 2024), so they can be analysed next to one's own runs. Every bad cell is reported with its line
 * and column, then nothing is imported.
 */

export type ScalingTableRow = {
  /** 1-based line of the row in the file. */
  line: number;
  params: number;
  tokens: number;
  loss: number;
  flops: number | null;
  seed: number | null;
  config: Record<string, number | string>;
};

export const MAX_TABLE_ROWS = 10_000;
export const MAX_TABLE_COLUMNS = 100;
const MAX_CONFIG_TEXT = 200;
const MAX_ISSUES = 50;
const REQUIRED = ["params", "tokens", "loss"] as const;
const KNOWN = new Set<string>([...REQUIRED, "flops", "seed"]);
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

export function parseScalingTable(text: string, file: string): ScalingTableRow[] {
  const issues: ImportIssue[] = [];
  let issueCount = 0;
  const report = (issue: Omit<ImportIssue, "file">) => {
    issueCount++;
    if (issues.length < MAX_ISSUES) issues.push({ file, ...issue });
  };

  let header: string[] | null = null;
  let headerFailed = false;
  const rows: ScalingTableRow[] = [];
  let rowCount = 0;

  const readHeader = (record: string[], line: number) => {
    header = record;
    const seen = new Set<string>();
    if (record.length > MAX_TABLE_COLUMNS)
      report({ line, message: `${record.length} columns; at most ${MAX_TABLE_COLUMNS}` });
    for (const name of record) {
      const known = name.toLowerCase();
      if (!name) report({ line, message: "a column without a name" });
      else if (name.length > MAX_CONFIG_TEXT)
        report({ line, column: name.slice(0, 40), message: `a column name over ${MAX_CONFIG_TEXT} characters` });
      else if (seen.has(KNOWN.has(known) ? known : name))
        report({ line, column: name, message: "appears twice in the header" });
      seen.add(KNOWN.has(known) ? known : name);
    }
    const missing = REQUIRED.filter((column) => !seen.has(column));
    if (missing.length)
      report({
        line,
        message: `the header lacks ${missing.map((column) => `"${column}"`).join(", ")}; it must name params, tokens and loss (flops and seed optional; other columns become config), in any order`,
      });
    headerFailed = issueCount > 0;
  };

  const readRow = (names: string[], record: string[], line: number) => {
    rowCount++;
    if (rowCount > MAX_TABLE_ROWS) {
      if (rowCount === MAX_TABLE_ROWS + 1)
        report({ line, message: `more than ${MAX_TABLE_ROWS.toLocaleString("en-US")} rows; split the table` });
      return;
    }
    if (record.length !== names.length) {
      report({ line, message: `${record.length} field(s), but the header has ${names.length}` });
      return;
    }
    let ok = true;
    const values: Partial<Record<"params" | "tokens" | "loss" | "flops" | "seed", number>> = {};
    const config: Record<string, number | string> = {};
    names.forEach((name, index) => {
      const cell = record[index]!;
      const known = name.toLowerCase();
      if (known === "params" || known === "tokens" || known === "flops") {
        if (known === "flops" && cell === "") return;
        const value = DECIMAL.test(cell) ? Number(cell) : Number.NaN;
        if (!(value > 0) || !Number.isFinite(value)) {
          report({ line, column: name, message: `${JSON.stringify(cell)} is not a positive number` });
          ok = false;
        } else values[known] = value;
      } else if (known === "loss") {
        const value = DECIMAL.test(cell) ? Number(cell) : Number.NaN;
        if (!Number.isFinite(value)) {
          report({ line, column: name, message: `${JSON.stringify(cell)} is not a finite number` });
          ok = false;
        } else values.loss = value;
      } else if (known === "seed") {
        if (cell === "") return;
        const value = DECIMAL.test(cell) ? Number(cell) : Number.NaN;
        if (!Number.isSafeInteger(value)) {
          report({ line, column: name, message: `${JSON.stringify(cell)} is not a whole number` });
          ok = false;
        } else values.seed = value;
      } else if (cell !== "") {
        if (cell.length > MAX_CONFIG_TEXT) {
          report({ line, column: name, message: `longer than ${MAX_CONFIG_TEXT} characters` });
          ok = false;
        } else config[name] = DECIMAL.test(cell) && Number.isFinite(Number(cell)) ? Number(cell) : cell;
      }
    });
    if (!ok) return;
    rows.push({
      line,
      params: values.params!,
      tokens: values.tokens!,
      loss: values.loss!,
      flops: values.flops ?? null,
      seed: values.seed ?? null,
      config,
    });
  };

  readCsvRecords(
    text,
    (record, line) => {
      if (header === null) readHeader(record, line);
      else if (!headerFailed) readRow(header, record, line);
    },
    report,
  );
  if (header === null && issueCount === 0)
    report({ message: "the file is empty; it needs a header (params,tokens,loss) and rows" });
  else if (rowCount === 0 && issueCount === 0) report({ line: 2, message: "no rows after the header" });
  if (issueCount > issues.length) issues.push({ file, message: `and ${issueCount - issues.length} more problem(s)` });
  if (issues.length) throw new ImportError(issues);
  return rows;
}
