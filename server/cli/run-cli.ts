/**
 * Runs a CLI entry point and exits with the code it returns. A closed pipe (`scaleboard plan x | head`)
 * is not an error; anything thrown past the command's own handling is printed as one line, never a stack.
 */
export function runCli(main: (argv: string[]) => Promise<number>, prefix: string, failureCode = 1): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${prefix}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(failureCode);
    },
  );
}
