import { TRPCClientError } from "@trpc/client";
import { TRPCError } from "@trpc/server";
import { AppError } from "../domain/app-error.ts";

/** The exit codes of the spec and report commands (README: "The `scaleboard` CLI"). */
export const EXIT = { ok: 0, invalid: 1, usage: 2, notConfirmed: 3, unreachable: 4, tooLarge: 5 } as const;

/** The exit code for a failed command: its own (a CliError's), too large, unreachable server, or invalid. */
export function exitCodeOf(error: unknown): number {
  const own = (error as { exitCode?: unknown } | null)?.exitCode;
  if (typeof own === "number") return own;
  const code =
    error instanceof TRPCError
      ? error.code
      : error instanceof TRPCClientError
        ? ((error.data as { code?: string } | undefined)?.code ?? null)
        : error instanceof AppError
          ? error.code
          : null;
  if (code === "PAYLOAD_TOO_LARGE" || code === "TOO_LARGE") return EXIT.tooLarge;
  if (error instanceof TRPCClientError && !error.data) return EXIT.unreachable;
  return EXIT.invalid;
}
