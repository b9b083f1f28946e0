/**
 * The Scaleboard SDK for TypeScript/JavaScript (`import { init } from "scaleboard/sdk"`): log a run
 * from any training script. Points are batched, retried with backoff and jitter, and flushed on exit.
 * It needs only fetch (Node 18+ or a browser).
 */

export type InitOptions = {
  project?: string;
  experiment?: string;
  name?: string;
  config?: Record<string, unknown>;
  tags?: string[];
  /** Attach to an existing run (a command run gets SCALEBOARD_RUN_ID) instead of creating one. */
  runId?: string;
  apiUrl?: string;
  apiKey?: string;
  /** Points buffered before a flush is forced (default 1000). */
  batchSize?: number;
  /** Longest time a point waits before it is sent (default 1000 ms). */
  flushIntervalMs?: number;
  /** Attempts per request before giving up (default 6). */
  maxAttempts?: number;
  /**
   * How often the run tells the server it is alive (default 10000 ms; 0 turns it off). A run that sends
   * no heartbeat and logs no point for the server's stale interval (SCALEBOARD_STALE_SECONDS, 30 s) is
   * marked `crashed`; a later heartbeat makes it running again.
   */
  heartbeatIntervalMs?: number;
  fetch?: typeof fetch;
};

/** Every status a run can be in. `crashed`: a tracked run whose script went silent for the stale interval. */
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "diverged" | "crashed" | "canceled";
/** The statuses a script may end its run with. */
export type FinishStatus = Extract<RunStatus, "succeeded" | "failed" | "canceled" | "diverged">;

export type Point = { key: string; step: number; value: number | "NaN" | "Infinity" | "-Infinity"; wallTime?: number };

export class ScaleboardError extends Error {
  override name = "ScaleboardError";
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

const env = (name: string) => (typeof process !== "undefined" ? process.env[name] : undefined);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function encodeValue(value: number): Point["value"] {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}

export class Run {
  private buffer: Point[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private sending: Promise<void> = Promise.resolve();
  private finished = false;
  private readonly exitHook = () => this.flushInBackground();

  constructor(
    readonly id: string,
    private readonly client: Client,
    private readonly options: Required<Pick<InitOptions, "batchSize" | "flushIntervalMs" | "heartbeatIntervalMs">>,
  ) {
    this.timer = setInterval(() => this.flushInBackground(), options.flushIntervalMs);
    (this.timer as { unref?: () => void }).unref?.();
    if (options.heartbeatIntervalMs > 0) {
      // A failed beat is not the script's problem: the next one tries again.
      this.heartbeatTimer = setInterval(() => this.heartbeat().catch(() => undefined), options.heartbeatIntervalMs);
      (this.heartbeatTimer as { unref?: () => void }).unref?.();
    }
    if (typeof process !== "undefined") process.once("beforeExit", this.exitHook);
  }

  /** Logs values at a step: run.log({ "train/loss": 0.42, lr: 3e-4 }, 100). */
  log(values: Record<string, number>, step: number): void {
    if (this.finished) throw new ScaleboardError("this run has finished; create a new one", null);
    const wallTime = Date.now() / 1000;
    for (const [key, value] of Object.entries(values))
      this.buffer.push({ key, step, value: encodeValue(value), wallTime });
    if (this.buffer.length >= this.options.batchSize) this.flushInBackground();
  }

  /** A flush nobody awaits: a failure keeps the points buffered for the next flush instead of crashing the script. */
  private flushInBackground(): void {
    this.flush().catch(() => undefined);
  }

  /** Sends every buffered point; resolves when the server has stored them. */
  flush(): Promise<void> {
    // After a failed flush (server down past every retry) the next one starts afresh with what is still buffered.
    this.sending = this.sending
      .catch(() => undefined)
      .then(async () => {
        while (this.buffer.length) {
          const batch = this.buffer.slice(0, Math.min(this.options.batchSize, 10_000));
          await this.client.request("POST", `/runs/${this.id}/points`, { points: batch });
          this.buffer = this.buffer.slice(batch.length);
        }
      });
    return this.sending;
  }

  /** Summary values and sizes (paramCount, flopsPerStep, totalFlops) shown in tables and scaling fits. */
  async summary(values: {
    summary?: Record<string, unknown>;
    paramCount?: number;
    flopsPerStep?: number;
    totalFlops?: number;
    tags?: string[];
    notes?: string;
  }): Promise<void> {
    await this.client.request("POST", `/runs/${this.id}/summary`, values);
  }

  /** Keeps the run alive; true when someone asked to cancel it. */
  async heartbeat(progress: { step?: number; progress?: number } = {}): Promise<boolean> {
    const answer = (await this.client.request("POST", `/runs/${this.id}/heartbeat`, progress)) as {
      cancelRequested: boolean;
    };
    return answer.cancelRequested;
  }

  /** Flushes, then ends the run with a status. */
  async finish(status: FinishStatus = "succeeded", error?: string): Promise<void> {
    await this.flush();
    if (this.timer) clearInterval(this.timer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (typeof process !== "undefined") process.removeListener("beforeExit", this.exitHook);
    this.finished = true;
    await this.client.request("POST", `/runs/${this.id}/finish`, { status, ...(error ? { error } : {}) });
  }
}

class Client {
  constructor(
    private readonly apiUrl: string,
    private readonly apiKey: string,
    private readonly maxAttempts: number,
    private readonly fetcher: typeof fetch,
  ) {}

  /** Retries network errors, 429 and 5xx with exponential backoff and full jitter; 4xx errors are final. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        const response = await this.fetcher(`${this.apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.apiKey}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        const parsed = text ? (JSON.parse(text) as { error?: { message?: string } }) : {};
        if (response.ok) return parsed;
        const message = parsed.error?.message ?? `${response.status} ${response.statusText}`;
        if (response.status !== 429 && response.status < 500) throw new ScaleboardError(message, response.status);
        lastError = new ScaleboardError(message, response.status);
      } catch (error) {
        if (error instanceof ScaleboardError && error.status !== null && error.status !== 429 && error.status < 500)
          throw error;
        lastError = error;
      }
      if (attempt < this.maxAttempts) await sleep(Math.random() * Math.min(10_000, 200 * 2 ** attempt));
    }
    throw lastError instanceof Error ? lastError : new ScaleboardError(String(lastError), null);
  }
}

/** Starts (or attaches to) a run. Reads SCALEBOARD_API_URL, SCALEBOARD_API_KEY and SCALEBOARD_RUN_ID when not given. */
export async function init(options: InitOptions = {}): Promise<Run> {
  const apiUrl = (options.apiUrl ?? env("SCALEBOARD_API_URL") ?? "http://localhost:3000/api/v1").replace(/\/$/, "");
  const apiKey = options.apiKey ?? env("SCALEBOARD_API_KEY");
  if (!apiKey)
    throw new ScaleboardError("No API key: pass apiKey or set SCALEBOARD_API_KEY (create one on the Team page)", null);
  const client = new Client(apiUrl, apiKey, options.maxAttempts ?? 6, options.fetch ?? fetch);
  const runId = options.runId ?? env("SCALEBOARD_RUN_ID");
  const body = runId
    ? { runId }
    : {
        project: options.project ?? "default",
        experiment: options.experiment ?? "default",
        ...(options.name ? { name: options.name } : {}),
        config: options.config ?? {},
        tags: options.tags ?? [],
      };
  const created = (await client.request("POST", "/runs", body)) as { runId: string };
  return new Run(created.runId, client, {
    batchSize: options.batchSize ?? 1000,
    flushIntervalMs: options.flushIntervalMs ?? 1000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 10_000,
  });
}
