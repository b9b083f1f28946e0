import { spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs `command ARGS` in `cwd` (the repository root unless given) with extra environment; never rejects. */
export function runProcess(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string = ROOT,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs `scaleboard ARGS` (bin/scaleboard.js) with extra environment, from `cwd` (the repository root unless given). */
export function runScaleboard(
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string = ROOT,
): Promise<CliResult> {
  return runProcess(process.execPath, [path.join(ROOT, "bin/scaleboard.js"), ...args], env, cwd);
}
