import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { environmentForChild } from "../server/env.ts";
import type { ChildMessage, ParentMessage } from "./train-process.ts";

const TRAIN_PROCESS = path.join(import.meta.dirname, "train-process.ts");

export type TrainingHandlers = {
  onOutput: (stream: "stdout" | "stderr", line: string) => void;
  onMessage: (message: ChildMessage) => void;
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
};

/**
 * A long-lived training child process. Starting one costs close to a CPU-second (tsx, tfjs, the
 * wasm backend), so a slot keeps its child and trains run after run in it. Events go to whichever
 * run is attached; between runs the child waits in the pool.
 */
export class TrainingProcess {
  private handlers: TrainingHandlers | null = null;
  private readonly child: ChildProcess;

  constructor(gpu: number | null) {
    this.child = fork(TRAIN_PROCESS, [], {
      // Garbage collection on the training thread: a slot then uses one core, not one and a bit, so
      // slots on a machine's cores do not slow each other (bench: 3.3 -> 3.2 CPU-s per 2.9 s run).
      execArgv: ["--import", import.meta.resolve("tsx"), "--single-threaded-gc"],
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: environmentForChild(gpu !== null ? { CUDA_VISIBLE_DEVICES: String(gpu) } : {}),
    });
    const output = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n").filter(Boolean)) this.handlers?.onOutput(stream, line);
    };
    this.child.stdout?.on("data", output("stdout"));
    this.child.stderr?.on("data", output("stderr"));
    this.child.on("message", (message: ChildMessage) => this.handlers?.onMessage(message));
    this.child.on("exit", (code, signal) => {
      removeIdle(this);
      this.handlers?.onExit(code, signal);
    });
  }

  get alive(): boolean {
    return this.child.connected && this.child.exitCode === null && this.child.signalCode === null;
  }

  attach(handlers: TrainingHandlers): void {
    this.handlers = handlers;
  }

  detach(): void {
    this.handlers = null;
  }

  send(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message);
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

/**
 * Idle children, by GPU and by the backend preference of their last run (a process keeps its
 * backend); `backend` is null for a child started ahead that has not trained yet and suits any run.
 */
const idle: { gpu: number | null; backend: string | null; process: TrainingProcess }[] = [];

function removeIdle(process: TrainingProcess): void {
  const index = idle.findIndex((entry) => entry.process === process);
  if (index >= 0) idle.splice(index, 1);
}

/** Starts a child per slot at worker start, so the first runs do not wait for tsx and tfjs to load. */
export function startTrainingProcesses(gpus: (number | null)[]): void {
  for (const gpu of gpus) idle.push({ gpu, backend: null, process: new TrainingProcess(gpu) });
}

/**
 * An idle child for this GPU that last trained with this backend preference, or one that has not
 * trained yet, or a new one. Every child is either training or idle after its run, so a new one
 * makes an idle child of another kind surplus: that one is stopped.
 */
export function acquireTrainingProcess(gpu: number | null, backend: string): TrainingProcess {
  const usable = (entry: (typeof idle)[number]) => entry.gpu === gpu && entry.process.alive;
  let index = idle.findIndex((entry) => usable(entry) && entry.backend === backend);
  if (index < 0) index = idle.findIndex((entry) => usable(entry) && entry.backend === null);
  if (index >= 0) return idle.splice(index, 1)[0]!.process;
  idle.shift()?.process.kill();
  return new TrainingProcess(gpu);
}

/** Puts a child that finished its run cleanly back for the next run of its kind. */
export function releaseTrainingProcess(gpu: number | null, backend: string, process: TrainingProcess): void {
  process.detach();
  if (process.alive) idle.push({ gpu, backend, process });
}
