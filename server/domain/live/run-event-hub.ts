import { EventEmitter } from "node:events";
import pg from "pg";
import { z } from "zod";
import type { Db } from "../../db.ts";
import { env } from "../../env.ts";
import { logger, type Logger } from "../../log.ts";
import { RUN_EVENTS_CHANNEL } from "../run/run-events.ts";

/** A run event as subscribers see it: the experiment is always known (looked up when the sender left it out). */
export type HubRunEvent = { runId: string; experimentId: string; status?: string; step?: number; keys?: string[] };

export type HubListener = {
  onEvent: (event: HubRunEvent) => void;
  /** The connection was lost and is back: events in between were missed, so reload. */
  onResync: () => void;
};

const ZPayload = z.object({
  runId: z.string().min(1),
  experimentId: z.string().min(1).optional(),
  status: z.string().optional(),
  step: z.number().optional(),
  keys: z.array(z.string()).optional(),
});

const EXPERIMENT_CACHE_SIZE = 10_000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;
const IDLE_CLOSE_MS = 30_000;

/**
 * One LISTEN connection per server process, shared by every live subscription: PostgreSQL
 * notifications on `scaleboard_runs` fan out through an EventEmitter. The connection opens with the
 * first subscriber, reconnects with backoff when it drops (subscribers are told to resync), and
 * closes after a while without subscribers. Pooled Prisma connections cannot LISTEN, hence `pg`.
 */
export class RunEventHub {
  private readonly emitter = new EventEmitter();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private listening = false;
  private hadConnection = false;
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly experimentOf = new Map<string, Promise<string | null>>();

  constructor(private readonly options: { connectionString: string; db: Db; log?: Logger }) {
    this.emitter.setMaxListeners(0);
  }

  get subscriberCount(): number {
    return this.emitter.listenerCount("event");
  }

  get isListening(): boolean {
    return this.listening;
  }

  subscribe(listener: HubListener): () => void {
    if (this.closed) throw new Error("the run event hub is closed");
    this.emitter.on("event", listener.onEvent);
    this.emitter.on("resync", listener.onResync);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.ensureConnected();
    return () => {
      this.emitter.off("event", listener.onEvent);
      this.emitter.off("resync", listener.onResync);
      if (this.subscriberCount === 0 && !this.closed) {
        this.idleTimer = setTimeout(() => void this.disconnect(), IDLE_CLOSE_MS);
        this.idleTimer.unref();
      }
    };
  }

  /** Resolves once notifications are being received (or the signal aborts, or the hub closes). */
  async ready(signal?: AbortSignal): Promise<void> {
    while (!this.listening && !this.closed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.emitter.off("listening", done);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        this.emitter.once("listening", done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.emitter.emit("listening");
    await this.disconnect();
    this.emitter.removeAllListeners();
  }

  private ensureConnected(): void {
    if (this.client || this.connecting || this.retryTimer || this.closed) return;
    this.connecting = this.connect().finally(() => {
      this.connecting = null;
    });
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.connectionString, keepAlive: true });
    const lost = (error?: Error) => this.connectionLost(client, error);
    client.on("error", lost);
    client.on("end", () => lost());
    client.on("notification", (message) => {
      if (message.channel === RUN_EVENTS_CHANNEL && message.payload) void this.dispatch(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    } catch (error) {
      lost(error as Error);
      return;
    }
    if (this.closed || this.subscriberCount === 0) {
      await client
        .end()
        .catch((error: unknown) =>
          this.options.log?.debug({ err: error }, "run events: closing an unneeded LISTEN connection failed"),
        );
      return;
    }
    this.client = client;
    this.listening = true;
    this.retryMs = RETRY_MIN_MS;
    if (this.hadConnection) this.emitter.emit("resync");
    this.hadConnection = true;
    this.emitter.emit("listening");
  }

  private connectionLost(client: pg.Client, error?: Error): void {
    if (this.client !== null && this.client !== client) return;
    this.client = null;
    this.listening = false;
    client.removeAllListeners("notification");
    // The connection is already broken; ending it may fail too and says nothing new.
    void client.end().catch(() => undefined);
    if (this.closed || this.subscriberCount === 0 || this.retryTimer) return;
    this.options.log?.warn(
      { err: error },
      `run events: connection lost${error ? ` (${error.message})` : ""}; retrying in ${this.retryMs} ms`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.ensureConnected();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  private async disconnect(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.idleTimer = null;
    this.retryTimer = null;
    await this.connecting;
    const client = this.client;
    this.client = null;
    this.listening = false;
    if (client) {
      client.removeAllListeners("notification");
      client.removeAllListeners("end");
      await client
        .end()
        .catch((error: unknown) =>
          this.options.log?.debug({ err: error }, "run events: closing the LISTEN connection failed"),
        );
    }
  }

  private async dispatch(payload: string): Promise<void> {
    let parsed: z.infer<typeof ZPayload>;
    try {
      parsed = ZPayload.parse(JSON.parse(payload));
    } catch (error) {
      this.options.log?.warn({ err: error }, `run events: ignored a malformed payload: ${payload.slice(0, 200)}`);
      return;
    }
    const experimentId = parsed.experimentId ?? (await this.experimentOfRun(parsed.runId));
    if (!experimentId) return;
    this.emitter.emit("event", { ...parsed, experimentId } satisfies HubRunEvent);
  }

  /** A run never changes experiment, so lookups are cached (a bounded map, oldest dropped first). */
  private experimentOfRun(runId: string): Promise<string | null> {
    const cached = this.experimentOf.get(runId);
    if (cached) return cached;
    const lookup = this.options.db.run
      .findUnique({ where: { id: runId }, select: { experimentId: true } })
      .then((run) => run?.experimentId ?? null)
      .catch((error: unknown) => {
        this.options.log?.warn(
          { err: error, runId },
          "run events: looking up a run's experiment failed; its event is dropped",
        );
        return null;
      });
    void lookup.then((found) => {
      if (found === null) this.experimentOf.delete(runId);
    });
    this.experimentOf.set(runId, lookup);
    if (this.experimentOf.size > EXPERIMENT_CACHE_SIZE)
      this.experimentOf.delete(this.experimentOf.keys().next().value!);
    return lookup;
  }
}

const hubs = new WeakMap<Db, RunEventHub>();

/**
 * The hub for this database client. The server's client gets one on first use from DATABASE_URL;
 * tests and other processes attach their own with `attachRunEventHub`.
 */
export function runEventHubFor(db: Db): RunEventHub {
  const existing = hubs.get(db);
  if (existing) return existing;
  const connectionString = env().DATABASE_URL;
  if (!connectionString) throw new Error("DATABASE_URL is not set: live run events need a database to listen on");
  return attachRunEventHub(db, connectionString);
}

export function attachRunEventHub(db: Db, connectionString: string): RunEventHub {
  const hub = new RunEventHub({ connectionString, db, log: logger() });
  hubs.set(db, hub);
  return hub;
}
