import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { getPath } from "../server/domain/spec/config-paths.ts";
import type { AttemptEnd, SlotContext } from "./run-builtin.ts";
import type { RunSession } from "./run-session.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const KILL_GRACE_MS = 5_000;

/** `{{model.width}}` in an argument becomes the cell's value; the argv is run without a shell. */
export function substituteArgs(argv: string[], config: unknown): string[] {
  return argv.map((arg) =>
    arg.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, key: string) => {
      const value = getPath(config, key) ?? getPath(config, `params.${key}`);
      return value === undefined ? whole : String(value);
    }),
  );
}

/** Working folder: absolute, or relative to SCALEBOARD_DATASETS_DIR, the worker's folder or examples/. */
function resolveCwd(cwd: string | undefined): string {
  if (!cwd) return path.join(ROOT, "examples");
  if (path.isAbsolute(cwd)) return cwd;
  const candidates = [process.env.SCALEBOARD_DATASETS_DIR, path.join(ROOT, "examples"), process.cwd()].filter((dir): dir is string => Boolean(dir)).map((dir) => path.resolve(dir, cwd));
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0]!;
}

/** A JSON line with a step and numbers is a batch of metrics: {"step": 10, "train/loss": 0.5}. */
export function metricsFromLine(line: string): { step: number; values: [string, number][] } | null {
  if (!line.startsWith("{")) return null;
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (typeof parsed.step !== "number" || !Number.isInteger(parsed.step) || parsed.step < 0) return null;
    const values = Object.entries(parsed).filter((entry): entry is [string, number] => entry[0] !== "step" && typeof entry[1] === "number");
    return values.length ? { step: parsed.step, values } : null;
  } catch {
    return null;
  }
}

/** Runs a `runner: command` cell: its stdout JSON lines become metrics, other output the run's log. */
export async function runCommand(session: RunSession, slot: SlotContext, shutdown: AbortSignal): Promise<AttemptEnd> {
  const { run } = session;
  const runner = run.config.runner;
  if (runner.kind !== "command") throw new Error("not a command run");
  const argv = substituteArgs(runner.argv, run.config);
  const apiUrl = slot.store.apiUrl;
  const runKey = apiUrl ? await slot.store.createRunKey(run) : null;
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: resolveCwd(runner.cwd),
    env: {
      ...process.env,
      ...runner.env,
      SCALEBOARD_RUN_ID: run.id,
      SCALEBOARD_CONFIG: JSON.stringify(run.config),
      ...(apiUrl && runKey ? { SCALEBOARD_API_URL: apiUrl, SCALEBOARD_API_KEY: runKey.key } : {}),
      ...(slot.gpu !== null ? { CUDA_VISIBLE_DEVICES: String(slot.gpu) } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  session.log("system", `$ ${argv.map((arg) => (/[\s"'$`\\]/.test(arg) ? JSON.stringify(arg) : arg)).join(" ")}`);
  const tail: string[] = [];
  let lastStep = 0;
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  createInterface({ input: child.stdout }).on("line", (line) => {
    const metrics = metricsFromLine(line.trim());
    if (metrics) {
      const wallTime = Date.now() / 1000;
      lastStep = Math.max(lastStep, metrics.step);
      session.addPoints(metrics.values.map(([key, value]) => ({ key, step: metrics.step, value, wallTime })));
      session.setProgress({ step: metrics.step, wallClockSeconds: (performance.now() - started) / 1000 });
    } else {
      remember(line);
      session.log("stdout", line);
    }
  });
  createInterface({ input: child.stderr }).on("line", (line) => {
    remember(line);
    session.log("stderr", line);
  });

  let stopReason: "cancel" | "shutdown" | "fenced" | "timeout" | null = null;
  const terminate = (reason: "cancel" | "shutdown" | "fenced" | "timeout") => {
    if (stopReason) return;
    stopReason = reason;
    child.kill("SIGTERM");
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), KILL_GRACE_MS).unref();
  };
  session.setHandlers({ onCancel: () => terminate("cancel"), onFenced: () => terminate("fenced") });
  // The worker may have begun stopping while this run was being claimed.
  if (shutdown.aborted) terminate("shutdown");
  else shutdown.addEventListener("abort", () => terminate("shutdown"), { once: true });
  const timeout = runner.timeoutSeconds === undefined ? null : setTimeout(() => terminate("timeout"), runner.timeoutSeconds * 1000);
  session.start();

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  if (timeout) clearTimeout(timeout);
  await runKey?.revoke();
  const wallClockSeconds = (performance.now() - started) / 1000;
  const environment = { runner: "command", argv, host: os.hostname(), gpu: slot.gpu };
  if (stopReason === "fenced") return "fenced";
  if (stopReason === "shutdown") return (await session.release("the worker stopped while the command ran; it starts again")) ? "released" : "fenced";
  if (stopReason === "cancel") {
    await session.finish({ status: "canceled", error: "canceled while running; its metrics are kept", wallClockSeconds, environment, step: lastStep });
  } else if (stopReason === "timeout") {
    await session.finish({ status: "failed", error: `timed out after ${runner.timeoutSeconds} s (runner.timeoutSeconds)`, wallClockSeconds, environment, step: lastStep });
  } else if (exit.error) {
    await session.finish({ status: "failed", error: `cannot start ${argv[0]}: ${exit.error.message}`, wallClockSeconds, environment });
  } else if (exit.code === 0) {
    await session.finish({ status: "succeeded", wallClockSeconds, environment, step: lastStep, backend: "command" });
  } else {
    await session.finish({ status: "failed", error: `exited with ${exit.signal ?? `code ${exit.code}`}${tail.length ? `: ${tail.slice(-5).join(" | ")}` : ""}`, wallClockSeconds, environment, step: lastStep });
  }
  return "finished";
}
