/** A problem found in an imported file, located well enough to open the file at that place. */
export type ImportIssue = {
  file: string;
  /** 1-based line, for text files. */
  line?: number;
  /** Byte offset, for binary files. */
  offset?: number;
  column?: string;
  message: string;
};

/** Input the import cannot use; carries every problem found, so a user can fix them in one go. */
export class ImportError extends Error {
  override name = "ImportError";
  constructor(readonly issues: ImportIssue[]) {
    super(issues.length === 1 ? formatImportIssue(issues[0]!) : `${issues.length} problems in the input`);
  }
}

export function formatImportIssue(issue: ImportIssue): string {
  const where =
    issue.line !== undefined
      ? `${issue.file}:${issue.line}`
      : issue.offset !== undefined
        ? `${issue.file} at byte ${issue.offset}`
        : issue.file;
  return `${where}: ${issue.column !== undefined ? `column "${issue.column}": ` : ""}${issue.message}`;
}

/** A run as read from a file: its name and its points, one per (key, step). */
export type ImportedRun = { name: string; points: { key: string; step: number; value: number; wallTime?: number }[] };

/** The limits of a stored metric point (ZMetricPoint): checked while reading, so the message can say where. */
export const MAX_KEY_LENGTH = 200;
export const MAX_STEP = 2_147_483_647;
export const MAX_RUN_NAME_LENGTH = 200;
