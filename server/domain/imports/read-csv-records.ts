import { CsvError, parse } from "csv-parse/sync";

/**
 * Reads CSV text record by record (byte-order mark skipped, cells trimmed, empty lines skipped, rows of any
 * length), calling `onRecord` with each record and its 1-based line; a malformed file (an unclosed quote, ...)
 * is reported with its line and csv-parse's message, without the error code in front.
 */
export function readCsvRecords(
  text: string,
  onRecord: (record: string[], line: number) => void,
  report: (issue: { line?: number; message: string }) => void,
): void {
  try {
    parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      on_record: (record: string[], context) => {
        onRecord(record, context.lines);
        return null;
      },
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    report({
      line: typeof error.lines === "number" ? error.lines : undefined,
      message: error.message.replace(/^[^:]*: /, ""),
    });
  }
}
