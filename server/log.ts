import { pino, type Logger } from "pino";
import { env, type Env } from "./env.ts";

export type { Logger };

/**
 * Diagnostics for operators: one JSON object a line on stdout (level, time, pid, hostname, msg, err,
 * and the fields a child adds: `requestId` on the web server, `worker` and `runId` in workers), at
 * LOG_LEVEL and above. Written synchronously through process.stdout (synchronous for files, pipes
 * and terminals on Linux): pino's transports run in worker threads, which Next's server bundle
 * cannot load. On a terminal the same records print as short lines.
 *
 * What a user reads as the product's output (CLI tables and progress, start's `[scaleboard]` lines,
 * a worker's ready/claim/stopped lines) is not logging and stays on the console.
 */
export function createLogger(options: {
  level: Env["LOG_LEVEL"];
  write?: (line: string) => void;
  terminal?: boolean;
}): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const terminal = options.terminal ?? (options.write === undefined && process.stdout.isTTY === true);
  return pino({ level: options.level }, { write: terminal ? (line: string) => write(terminalLine(line)) : write });
}

let root: Logger | undefined;

/** The process's logger, at env().LOG_LEVEL. A worker adds its name once with `logger().setBindings({ worker })`. */
export function logger(): Logger {
  root ??= createLogger({ level: env().LOG_LEVEL });
  return root;
}

/** Lines about one web request: they carry the id its client was shown. */
export function requestLogger(requestId: string): Logger {
  return logger().child({ requestId });
}

/** Lines about one run in a worker (the worker's name comes from the root's bindings). */
export function runLogger(runId: string): Logger {
  return logger().child({ runId });
}

/** An error's message for a log line's text; the `err` field carries the whole error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const OMITTED = new Set(["level", "time", "pid", "hostname", "msg", "err"]);

/** `12:00:01 WARN msg runId=… worker=…` and the error's stack below it. */
function terminalLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(Number(record.time)).toISOString().slice(11, 19);
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  const err = record.err as { stack?: string; message?: string } | undefined;
  const stack = err ? `\n  ${(err.stack ?? err.message ?? "").replaceAll("\n", "\n  ")}` : "";
  return `${time} ${LEVEL_NAMES[Number(record.level)] ?? record.level} ${String(record.msg ?? "")}${fields.length ? ` ${fields.join(" ")}` : ""}${stack}\n`;
}
