import { spawn } from "node:child_process";
import os from "node:os";
import { createInterface } from "node:readline";
import { resolveCommandFolder } from "../server/domain/datasets/resolve-command-folder.ts";
import { DatasetPathError, workerDatasetAccess } from "../server/domain/datasets/resolve-dataset-path.ts";
import { divergenceMessage, isDivergedLoss } from "../server/domain/run/run-divergence.ts";
import { isStoredStep } from "../server/domain/run/run-step.ts";
import { getPath } from "../server/domain/spec/config-paths.ts";
import { environmentForChild } from "../server/env.ts";
import type { AttemptEnd, SlotContext } from "./run-builtin.ts";
import type { RunAsUser } from "./run-as.ts";
import type { RunSession } from "./run-session.ts";
import type { ClaimedRun } from "./run-store.ts";

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

/** Outside JSON strings, Python's bare NaN, Infinity and -Infinity (json.dumps writes them), quoted so JSON.parse reads them. */
function quoteNonFiniteLiterals(line: string): string {
  let out = "";
  let inString = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (inString) {
      out += char;
      if (char === "\\") out += line[++index] ?? "";
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    const literal = /^-?(?:NaN|Infinity)(?=[\s,}\]]|$)/.exec(line.slice(index, index + 10));
    if (literal) {
      out += JSON.stringify(literal[0]);
      index += literal[0].length - 1;
    } else out += char;
  }
  return out;
}

/** A metric value: a JSON number, or NaN or an infinity spelled as Python, JavaScript or C write them ("nan", "inf", "-Infinity"). */
function metricValue(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return null;
  const spelled = value.trim().toLowerCase();
  if (/^[+-]?nan$/.test(spelled)) return Number.NaN;
  if (/^\+?inf(?:inity)?$/.test(spelled)) return Number.POSITIVE_INFINITY;
  if (/^-inf(?:inity)?$/.test(spelled)) return Number.NEGATIVE_INFINITY;
  return null;
}

/**
 * A JSON line with a step and numbers is a batch of metrics: {"step": 10, "train/loss": 0.5}. Values
 * may be NaN, Infinity or -Infinity, bare (Python's json.dumps) or quoted ("NaN", "inf"); other
 * strings are not metrics. A step the database cannot store makes the line plain output.
 */
export function metricsFromLine(line: string): { step: number; values: [string, number][] } | null {
  if (!line.startsWith("{")) return null;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    if (!/NaN|Infinity/.test(line)) return null;
    try {
      parsed = JSON.parse(quoteNonFiniteLiterals(line)) as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  if (typeof parsed !== "object" || parsed === null || !isStoredStep(parsed.step)) return null;
  const values: [string, number][] = [];
  for (const [key, raw] of Object.entries(parsed)) {
    const value = key === "step" ? null : metricValue(raw);
    if (value !== null) values.push([key, value]);
  }
  return values.length ? { step: parsed.step, values } : null;
}

/**
 * Everything a command's process gets in its environment, and nothing else of the worker's: a
 * PATH, HOME and LANG to run ordinary programs, the spec's `runner.env`, and the run's own
 * variables (which the spec cannot override). Never DATABASE_URL, BETTER_AUTH_SECRET, the worker's
 * own API key or anything else the worker was started with.
 */
export function commandEnvironment(input: {
  run: ClaimedRun;
  apiUrl: string | null;
  runKey: string | null;
  gpu: number | null;
  runAs: RunAsUser | null;
}): Record<string, string> {
  const runner = input.run.config.runner;
  // Operating-system basics passed through as they are; they are not Scaleboard settings.
  const inherited = environmentForChild();
  return {
    PATH: inherited.PATH || "/usr/local/bin:/usr/bin:/bin",
    HOME: input.runAs?.home ?? inherited.HOME ?? "/",
    LANG: inherited.LANG || "C.UTF-8",
    ...(runner.kind === "command" ? runner.env : {}),
    SCALEBOARD_RUN_ID: input.run.id,
    SCALEBOARD_CONFIG: JSON.stringify(input.run.config),
    ...(input.apiUrl ? { SCALEBOARD_API_URL: input.apiUrl } : {}),
    ...(input.runKey ? { SCALEBOARD_API_KEY: input.runKey } : {}),
    ...(input.gpu !== null ? { CUDA_VISIBLE_DEVICES: String(input.gpu) } : {}),
  };
}

/** How the operator lets this worker run commands: as whom (--run-as), when the worker is root. */
export type CommandPolicy = { runAs: RunAsUser | null };

/** Runs a `runner: command` cell: its stdout JSON lines become metrics, other output the run's log. */
export async function runCommand(
  session: RunSession,
  slot: SlotContext,
  shutdown: AbortSignal,
  policy: CommandPolicy,
): Promise<AttemptEnd> {
  const { run } = session;
  const runner = run.config.runner;
  if (runner.kind !== "command") throw new Error("not a command run");
  const argv = substituteArgs(runner.argv, run.config);
  // runner.cwd by the dataset roots' rule: refused or missing, the run fails saying so (nothing is started).
  let cwd: string;
  try {
    cwd = resolveCommandFolder(runner.cwd, workerDatasetAccess().roots);
  } catch (error) {
    if (!(error instanceof DatasetPathError)) throw error;
    await session.finish({ status: "failed", error: error.message, environment: { runner: "command", argv } });
    return "finished";
  }
  const apiUrl = slot.store.apiUrl;
  const runKey = apiUrl ? await slot.store.createRunKey(run) : null;
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd,
    // Only what commandEnvironment lists (ProcessEnv's typing insists on NODE_ENV, which a child does not need).
    env: commandEnvironment({
      run,
      apiUrl,
      runKey: runKey?.key ?? null,
      gpu: slot.gpu,
      runAs: policy.runAs,
    }) as NodeJS.ProcessEnv,
    uid: policy.runAs?.uid,
    gid: policy.runAs?.gid,
    stdio: ["ignore", "pipe", "pipe"],
  });
  session.log("system", `$ ${argv.map((arg) => (/[\s"'$`\\]/.test(arg) ? JSON.stringify(arg) : arg)).join(" ")}`);
  const tail: string[] = [];
  let lastStep = 0;
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  let stopReason: "cancel" | "shutdown" | "fenced" | "timeout" | "diverged" | null = null;
  const terminate = (reason: "cancel" | "shutdown" | "fenced" | "timeout" | "diverged") => {
    if (stopReason) return;
    stopReason = reason;
    child.kill("SIGTERM");
    setTimeout(
      () => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"),
      KILL_GRACE_MS,
    ).unref();
  };
  // The first non-finite training loss, as the built-in trainer judges it: the run ends diverged.
  let divergence: string | null = null;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const metrics = metricsFromLine(line.trim());
    if (metrics) {
      const wallTime = Date.now() / 1000;
      lastStep = Math.max(lastStep, metrics.step);
      session.addPoints(metrics.values.map(([key, value]) => ({ key, step: metrics.step, value, wallTime })));
      session.setProgress({ step: metrics.step, wallClockSeconds: (performance.now() - started) / 1000 });
      const diverged = metrics.values.find(([key, value]) => isDivergedLoss(key, value));
      if (diverged && divergence === null) {
        divergence = divergenceMessage(diverged[1], metrics.step);
        session.log("system", `${divergence}: stopping the command`);
        terminate("diverged");
      }
    } else {
      remember(line);
      session.log("stdout", line);
    }
  });
  createInterface({ input: child.stderr }).on("line", (line) => {
    remember(line);
    session.log("stderr", line);
  });

  session.setHandlers({ onCancel: () => terminate("cancel"), onFenced: () => terminate("fenced") });
  // The worker may have begun stopping while this run was being claimed.
  if (shutdown.aborted) terminate("shutdown");
  else shutdown.addEventListener("abort", () => terminate("shutdown"), { once: true });
  const timeout =
    runner.timeoutSeconds === undefined ? null : setTimeout(() => terminate("timeout"), runner.timeoutSeconds * 1000);
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
  if (divergence !== null) {
    // Whatever the command did after its loss stopped being finite (stopped here, or exited on its own).
    await session.finish({
      status: "diverged",
      error: divergence,
      wallClockSeconds,
      environment,
      step: lastStep,
      backend: "command",
    });
    return "finished";
  }
  if (stopReason === "shutdown")
    return (await session.release("the worker stopped while the command ran; it starts again")) ? "released" : "fenced";
  if (stopReason === "cancel") {
    await session.finish({
      status: "canceled",
      error: "canceled while running; its metrics are kept",
      wallClockSeconds,
      environment,
      step: lastStep,
    });
  } else if (stopReason === "timeout") {
    await session.finish({
      status: "failed",
      error: `timed out after ${runner.timeoutSeconds} s (runner.timeoutSeconds)`,
      wallClockSeconds,
      environment,
      step: lastStep,
    });
  } else if (exit.error) {
    await session.finish({
      status: "failed",
      error: `cannot start ${argv[0]}: ${exit.error.message}`,
      wallClockSeconds,
      environment,
    });
  } else if (exit.code === 0) {
    await session.finish({ status: "succeeded", wallClockSeconds, environment, step: lastStep, backend: "command" });
  } else {
    await session.finish({
      status: "failed",
      error: `exited with ${exit.signal ?? `code ${exit.code}`}${tail.length ? `: ${tail.slice(-5).join(" | ")}` : ""}`,
      wallClockSeconds,
      environment,
      step: lastStep,
    });
  }
  return "finished";
}
