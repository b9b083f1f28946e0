import { type ParseArgsConfig, type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { EXIT } from "./exit-codes.ts";

/** One line on stdout. */
export function out(line = "") {
  process.stdout.write(`${line}\n`);
}

/** The options every `scaleboard COMMAND` takes besides its own. */
const COMMON_OPTIONS = {
  json: { type: "boolean", default: false },
  server: { type: "string" },
  team: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsOptionsConfig;

type Parsed<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; options: O & typeof COMMON_OPTIONS }>
>;

/**
 * `scaleboard COMMAND ARGV` parsed with the command's options and the common ones. A parse error prints the
 * message and the usage to stderr, --help prints the usage to stdout: both answer the exit code to return.
 * Otherwise the values, the positionals and `usageError`, which prints a message and the usage and answers 2.
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  command: string,
  usage: string,
  argv: string[],
  options: O,
): { exit: number } | (Parsed<O> & { usageError: (message: string) => number }) {
  const usageError = (message: string) => {
    process.stderr.write(`scaleboard ${command}: ${message}\n\n${usage}\n`);
    return EXIT.usage;
  };
  let parsed: Parsed<O>;
  try {
    const config = { args: argv, allowPositionals: true, options: { ...options, ...COMMON_OPTIONS } };
    parsed = parseArgs(config satisfies ParseArgsConfig) as Parsed<O>;
  } catch (error) {
    return { exit: usageError(error instanceof Error ? error.message : String(error)) };
  }
  if ((parsed.values as { help?: boolean }).help) {
    out(usage);
    return { exit: EXIT.ok };
  }
  return { ...parsed, usageError };
}
