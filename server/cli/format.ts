import type { RunStatus } from "../generated/prisma/enums.ts";

/** Human formatting for the CLI's tables. */

/**
 * Every run status, in the order `scaleboard status` shows its columns, and whether a run in it has
 * finished (a status the database gains fails type-checking here until it is placed). `crashed`: an
 * HTTP-tracked run whose script stopped heartbeating for SCALEBOARD_STALE_SECONDS.
 */
const RUN_STATUS_FINISHED: Record<RunStatus, boolean> = {
  queued: false,
  running: false,
  succeeded: true,
  failed: true,
  diverged: true,
  crashed: true,
  canceled: true,
};
export const RUN_STATUS_COLUMNS = Object.keys(RUN_STATUS_FINISHED) as RunStatus[];
export const FINISHED_RUN_STATUSES: ReadonlySet<string> = new Set(
  RUN_STATUS_COLUMNS.filter((status) => RUN_STATUS_FINISHED[status]),
);

export function formatCount(value: number | bigint | null | undefined): string {
  if (value === null || value === undefined) return "?";
  const number = Number(value);
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, unit] of units) if (Math.abs(number) >= size) return `${(number / size).toPrecision(3)}${unit}`;
  return String(number);
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.round((seconds % 3600) / 60)).padStart(2, "0")}m`;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function progressBar(fraction: number | null | undefined, width = 20): string {
  const clamped = Math.max(0, Math.min(1, fraction ?? 0));
  const filled = Math.round(clamped * width);
  return `${"█".repeat(filled)}${"░".repeat(width - filled)} ${String(Math.round(clamped * 100)).padStart(3)}%`;
}

/** JSON for --json: bigints as numbers when safe, else strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item: unknown) =>
      typeof item === "bigint" ? (Number.isSafeInteger(Number(item)) ? Number(item) : item.toString()) : item,
    2,
  );
}

/** The plan's warning for a command spec that no live worker would run, and what the operator can do. */
export function commandsWaitingLine(runs: number, waiting: string): string {
  return `! ${runs} command run(s): ${waiting}. Start a worker with --allow-commands (npm start: SCALEBOARD_ALLOW_COMMANDS=1) to run them.`;
}
