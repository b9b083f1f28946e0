import { formatCount, formatDuration, formatFlops } from "../../_features/charts/format.ts";

/**
 * How the run page prints the values a trainer or script reported: no raw `null`, three
 * significant digits, thousands grouped, SI prefixes past a million and units the key implies.
 */

/** A value the trainer reported as null or left out. */
export const NOT_LOGGED = "not logged";

const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** 0.03246808 -> "0.0325", 12345 -> "12,345", 62521459200 -> "62.5G", 1.2e-5 -> "1.20e-5". */
export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6) return formatCount(value, digits);
  if (Number.isInteger(value)) return grouped.format(value);
  if (magnitude !== 0 && magnitude < 1e-3) return value.toExponential(digits - 1);
  if (magnitude >= 1000) return grouped.format(Math.round(value));
  return Number(value.toPrecision(digits)).toString();
}

const BYTES = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTES.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toPrecision(3))} ${BYTES[unit]}`;
}

/** A number with the unit its key names (seconds, FLOPs, bytes, a rate). */
export function formatKeyedNumber(key: string, value: number): string {
  const leaf = key.split(".").at(-1) ?? key;
  if (!Number.isFinite(value)) return String(value);
  if (/flops/i.test(leaf)) return `${formatFlops(value)} FLOPs`;
  if (/per_?second$|PerSecond$|_per_s$/i.test(leaf)) return `${formatNumber(value)} /s`;
  if (/(seconds|_s|Secs?)$/i.test(leaf) && value >= 0) return formatDuration(value);
  if (/bytes$/i.test(leaf)) return formatBytes(value);
  if (/^(paramCount|params|parameters|tokens|samples|steps|step)$/i.test(leaf)) return formatCount(value);
  return formatNumber(value);
}

/** Any JSON scalar as the page prints it. */
export function formatValue(key: string, value: unknown): string {
  if (value === null || value === undefined) return NOT_LOGGED;
  if (typeof value === "number") return formatKeyedNumber(key, value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string") return value === "" ? "—" : value;
  return JSON.stringify(value);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Nested objects as dotted keys ("training.optimizer.lr"); arrays of scalars joined, others as JSON. */
export function flattenJson(value: unknown, prefix = "", into: [string, unknown][] = []): [string, unknown][] {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value as { [key: string]: Json }))
      flattenJson(inner, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix) {
    const scalars = Array.isArray(value) && value.every((item) => item === null || typeof item !== "object");
    into.push([prefix, scalars ? (value as unknown[]).map((item) => formatValue(prefix, item)).join(" ") : value]);
  }
  return into;
}

/** What the environment says, in the reader's words: backend, CPU, memory and GPU first, then the rest. */
export function environmentRows(
  environment: unknown,
  row: { workerName: string | null; backend: string | null },
): [string, string][] {
  const recorded = new Map(flattenJson(environment));
  const take = (...keys: string[]) => {
    for (const key of keys) {
      if (recorded.has(key)) {
        const value = recorded.get(key);
        for (const other of keys) recorded.delete(other);
        return value ?? null;
      }
    }
    return undefined;
  };
  const rows: [string, string][] = [];
  const backend = take("backend") ?? row.backend;
  const tfjs = take("tfjsVersion");
  if (backend !== undefined && backend !== null)
    rows.push(["backend", `${String(backend)}${tfjs ? ` (tfjs ${String(tfjs)})` : ""}`]);
  const cpu = take("cpu", "cpuModel", "cpu.model");
  const cores = take("cpuCores", "cores", "cpus", "cpu.cores");
  if (cpu || cores)
    rows.push([
      "CPU",
      [cpu ? String(cpu) : null, typeof cores === "number" ? `${cores} cores` : null].filter(Boolean).join(", "),
    ]);
  const memory = take("memoryBytes", "memory", "totalMemory", "memory.total");
  if (typeof memory === "number") rows.push(["memory", formatBytes(memory)]);
  else if (typeof memory === "string") rows.push(["memory", memory]);
  const gpu = take("gpu", "gpuName", "gpus");
  // Recorded by a worker: null means it ran without one, which is worth saying in words.
  if (gpu !== undefined) rows.push(["GPU", gpu === null || gpu === "" ? "none" : formatValue("gpu", gpu)]);
  const worker = take("worker") ?? row.workerName;
  if (worker !== undefined && worker !== null) rows.push(["worker", String(worker)]);
  for (const [key, value] of recorded)
    if (value !== null && value !== undefined) rows.push([key, formatValue(key, value)]);
  return rows;
}
