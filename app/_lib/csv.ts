/**
 * The one CSV writer behind every CSV the product exports (chart panels, scaling panels, reports).
 *
 * Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`, `+`,
 * `-`, `@`, a tab or a carriage return as a formula, so a run named `=HYPERLINK("http://evil","x")`
 * would become a live link in whoever opens the export. Such text cells get a leading `'`, which
 * spreadsheets show as text and do not evaluate, and are quoted. Numbers are written as numbers:
 * a JavaScript number (-0.5) cannot carry a formula, and neither can text that is exactly a plain
 * decimal number ("-0.5", "+3", "-1e-5"), so both stay numeric in the sheet instead of turning into text.
 */

export type CsvValue = string | number | null;

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The text as a spreadsheet should see it: formula-leading text prefixed with `'`. */
export function neutraliseFormula(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
}

/** One cell: null is empty, numbers as written, text neutralised and quoted when it needs to be. */
export function csvCell(value: CsvValue): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = neutraliseFormula(value);
  return text !== value || /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A whole CSV file: the header row (neutralised like any cell), then the rows; ends with a newline. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return `${[header, ...rows].map((row) => row.map(csvCell).join(",")).join("\n")}\n`;
}
