import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";

/** Every error the domain raises on purpose; the code decides the tRPC code and HTTP status. */
export const APP_ERROR_CODES = {
  NOT_FOUND: { trpc: "NOT_FOUND", http: 404 },
  UNAUTHORIZED: { trpc: "UNAUTHORIZED", http: 401 },
  FORBIDDEN: { trpc: "FORBIDDEN", http: 403 },
  INVALID_INPUT: { trpc: "BAD_REQUEST", http: 400 },
  CONFLICT: { trpc: "CONFLICT", http: 409 },
  TOO_LARGE: { trpc: "PAYLOAD_TOO_LARGE", http: 413 },
  TOO_MANY_REQUESTS: { trpc: "TOO_MANY_REQUESTS", http: 429 },
  UNAVAILABLE: { trpc: "SERVICE_UNAVAILABLE", http: 503 },
} as const satisfies Record<string, { trpc: TRPC_ERROR_CODE_KEY; http: number }>;

export type AppErrorCode = keyof typeof APP_ERROR_CODES;

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: AppErrorCode,
    message: string,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return APP_ERROR_CODES[this.code].http;
  }
}
