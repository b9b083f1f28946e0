/** Number formats shared by the runs table and the charts, so a size reads the same everywhere. */

const SI_PREFIXES = [
  { value: 1e18, suffix: "E" },
  { value: 1e15, suffix: "P" },
  { value: 1e12, suffix: "T" },
  { value: 1e9, suffix: "B" },
  { value: 1e6, suffix: "M" },
  { value: 1e3, suffix: "k" },
] as const;

function trimmed(value: number, digits: number): string {
  return Number(value.toPrecision(digits)).toString();
}

/** 1234567 -> "1.23M"; counts of parameters, samples and tokens. */
export function formatCount(value: number | bigint | null | undefined, digits = 3): string {
  if (value === null || value === undefined) return "—";
  const number = typeof value === "bigint" ? Number(value) : value;
  if (!Number.isFinite(number)) return String(number);
  const magnitude = Math.abs(number);
  if (magnitude >= 1e21) return number.toExponential(2);
  for (const prefix of SI_PREFIXES) {
    if (magnitude >= prefix.value) return `${trimmed(number / prefix.value, digits)}${prefix.suffix}`;
  }
  return trimmed(number, digits);
}

/** FLOPs as 1.2e15 is what papers print; the SI form is easier to compare at a glance. */
export function formatFlops(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1e21) return value.toExponential(2);
  for (const prefix of SI_PREFIXES) {
    if (Math.abs(value) >= prefix.value)
      return `${trimmed(value / prefix.value, 3)}${prefix.suffix === "B" ? "G" : prefix.suffix}`;
  }
  return trimmed(value, 3);
}

/** 83.4 -> "1m 23s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 10) return `${trimmed(seconds, 2)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h ${String(minutes % 60).padStart(2, "0")}m`;
}

/** A metric value: four significant digits, exponent form when very small or large. */
export function formatMetric(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return "—";
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e6)) return value.toExponential(digits - 1);
  return trimmed(value, digits);
}

/** A fitted coefficient: significant digits in exponent form when large (A is often 1e2..1e4). */
export function formatCoefficient(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && (Math.abs(value) < 1e-2 || Math.abs(value) >= 1e4)) return value.toExponential(digits - 1);
  return trimmed(value, digits);
}

/** A swept parameter's value as the table shows it. */
export function formatParam(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : trimmed(value, 4);
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  return JSON.stringify(value);
}

const SIZE_SUFFIXES: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9, g: 1e9, t: 1e12, p: 1e15, e: 1e18 };

/** "1e7", "10M", "2.5B", "3,000,000" -> a number; null when it is not one. */
export function parseSize(text: string): number | null {
  const cleaned = text.trim().replaceAll(",", "").replaceAll("_", "");
  if (!cleaned) return null;
  const match = /^([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmbgtpe])?$/i.exec(cleaned);
  if (!match) return null;
  const base = Number(match[1]);
  const factor = match[2] ? (SIZE_SUFFIXES[match[2].toLowerCase()] ?? 1) : 1;
  const value = base * factor;
  return Number.isFinite(value) && value > 0 ? value : null;
}

/** An axis tick: metric precision for small values, SI suffixes for counters (flops, samples) in the millions. */
export function formatTick(value: number): string {
  return Math.abs(value) >= 1e4 ? formatCount(value) : formatMetric(value);
}
