/** PostgreSQL unreachable, restarting or out of connections: a 503 the client retries (the SDK and mlflow's client do), not a 500. */
export function databaseUnavailable(error: unknown): boolean {
  const { code, meta } = (error ?? {}) as {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown } } };
  };
  const cause = meta?.driverAdapterError?.cause;
  if (code === "P1001" || code === "P1017" || code === "P2024") return true;
  // node-postgres's errors carry SQLSTATE as `code` (statements sent without Prisma: server/db.ts rawTransaction).
  if (typeof code === "string" && /^(57P0[1-3]|08...|53300)$/.test(code)) return true;
  if (["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"].includes(String(cause?.kind)))
    return true;
  // 57P01-57P03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection exceptions.
  if (typeof cause?.code === "string" && /^(57P0[1-3]|08...)$/.test(cause.code)) return true;
  // node-postgres's own errors when the server goes away mid-transaction.
  return (
    error instanceof Error &&
    /Connection terminated|connection error and is not queryable|ECONNREFUSED|ECONNRESET/.test(error.message)
  );
}
