import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

/** What every bench script shares: its flags, its progress lines, its scratch database, its statistics and its result file. */

export const ROOT = path.resolve(import.meta.dirname, "../..");

/** A progress line on stdout with the time of day: `12:34:56 message`. */
export function log(message: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

/**
 * Reads `--switch` flags and `--name value` pairs; `--help` prints the usage and exits. Any other
 * argument, or a value flag at the end with no value, throws with the usage.
 */
export function readArgs(
  argv: string[],
  spec: { usage: string; switches: readonly string[]; values: readonly string[] },
): { switches: Set<string>; values: Map<string, string> } {
  const switches = new Set<string>();
  const values = new Map<string, string>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === "--help" || arg === "-h") {
      console.log(spec.usage);
      process.exit(0);
    }
    if (spec.switches.includes(arg)) {
      switches.add(arg);
      continue;
    }
    if (!spec.values.includes(arg)) throw new Error(`unknown argument ${arg} (${spec.usage})`);
    const next = argv[++index];
    if (next === undefined) throw new Error(`${arg} needs a value (${spec.usage})`);
    values.set(arg, next);
  }
  return { switches, values };
}

export type BenchDatabase = { name: string; url: string; drop: (options?: { keep?: boolean }) => Promise<void> };

/**
 * A fresh database named `<prefix>_<random>` on TEST_DATABASE_URL's server (else the local
 * PostgreSQL); `drop` removes it, or with keep leaves it and says its name.
 */
export async function createBenchDatabase(prefix: string): Promise<BenchDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async (options = {}) => {
      if (options.keep) log(`kept database ${name}`);
      else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The value at `fraction` of an ascending list (nearest rank below); NaN when empty. */
export function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

/** Writes a bench's result as indented JSON and says where. */
export function writeResult(out: string, result: unknown): void {
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), out)}`);
}
