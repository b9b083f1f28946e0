// Query-string readers, for client components (through url-state.ts) and server components alike.

export function readNumber(params: URLSearchParams | { get(key: string): string | null }, key: string): number | null {
  const text = params.get(key);
  if (text === null || text === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export function readEnum<T extends string>(
  params: { get(key: string): string | null },
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const text = params.get(key);
  return allowed.includes(text as T) ? (text as T) : fallback;
}

export function readList(params: { get(key: string): string | null }, key: string): string[] {
  return (params.get(key) ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}
