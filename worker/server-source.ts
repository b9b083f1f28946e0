import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import { CheckpointError } from "../server/domain/checkpoint/save-checkpoint.ts";
import type { HeartbeatResult } from "../server/domain/run/record-run-heartbeat.ts";
import { logger, messageOf, runLogger } from "../server/log.ts";
import type {
  WireClaimedRun,
  ZClaimBody,
  ZRunOutcomeBody,
  ZWorkerLogsBody,
  ZWorkerPointsBody,
  ZWorkerStatusBody,
} from "../server/http/worker-api.ts";
import type { ClaimedRun, RunSource, RunStore } from "./run-store.ts";

const POINTS_PER_REQUEST = 5_000;
const LOG_BYTES_PER_REQUEST = 500_000;
const RETRIES = 5;

/** The server said no: a refused key, a bad request. Not worth retrying. */
export class WorkerApiError extends Error {
  override name = "WorkerApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type ApiValue = number | "NaN" | "Infinity" | "-Infinity";
const toApiValue = (value: number): ApiValue =>
  Number.isFinite(value) ? value : Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";

/**
 * A worker on another host: it talks only HTTP to the server's worker API (/api/v1/worker) with a
 * `worker`-scoped API key; the server claims runs of the key's team for it and does the writes.
 * Network errors and gateway answers are retried with backoff (the server may be restarting).
 */
export async function connectToServer(
  server: string,
  apiKey: string,
  options: {
    /** The operator's --allow-commands, sent with every claim: the server hands command runs to no other worker. */
    allowCommands: boolean;
    /** SCALEBOARD_API_URL, when a command run's script should log somewhere other than this server. */
    apiUrl: string | null;
    /** SCALEBOARD_CLAIM_POLL_MS: how often an idle slot asks the server for a run. */
    claimPollMs: number;
  },
): Promise<RunSource> {
  const base = `${server.replace(/\/$/, "")}/api/v1/worker`;

  async function call(method: "GET" | "POST", route: string, body?: unknown, raw?: Uint8Array): Promise<Response> {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      if (attempt) await sleep(Math.min(5_000, 200 * 2 ** attempt));
      let response: Response;
      try {
        response = await fetch(`${base}${route}`, {
          method,
          headers: {
            authorization: `Bearer ${apiKey}`,
            ...(raw
              ? { "content-type": "application/octet-stream" }
              : body !== undefined
                ? { "content-type": "application/json" }
                : {}),
          },
          body: raw ? Buffer.from(raw) : body !== undefined ? JSON.stringify(body) : undefined,
        });
      } catch (error) {
        lastError = error;
        continue;
      }
      if (response.ok) return response;
      if ([502, 504].includes(response.status)) {
        lastError = new Error(`${method} ${route}: ${response.status} ${response.statusText}`);
        continue;
      }
      const answer = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new WorkerApiError(
        response.status,
        answer?.error?.message ?? `${method} ${route}: ${response.status} ${response.statusText}`,
      );
    }
    const cause = lastError as (Error & { cause?: { code?: string } }) | null;
    throw new Error(`cannot reach ${server}: ${cause?.cause?.code ?? cause?.message ?? "no answer"}`);
  }
  const post = async <T>(route: string, body: unknown): Promise<T> =>
    (await call("POST", route, body)).json() as Promise<T>;
  const runRoute = (runId: string, action: string) => `/runs/${encodeURIComponent(runId)}/${action}`;

  const status = (
    identity: Omit<z.input<typeof ZWorkerStatusBody>, "state">,
    state: z.input<typeof ZWorkerStatusBody>["state"],
  ) => post("/status", { ...identity, state });
  let identity: Omit<z.input<typeof ZWorkerStatusBody>, "state"> | null = null;

  const store: RunStore = {
    where: server,
    apiUrl: options.apiUrl ?? `${server.replace(/\/$/, "")}/api/v1`,
    async registerWorker(worker) {
      identity = {
        name: worker.name,
        host: worker.host,
        pid: worker.pid,
        slots: worker.slots,
        backend: worker.backend ?? null,
        allowsCommands: options.allowCommands,
      };
      await status(identity, "starting");
    },
    async recordWorkerHeartbeat() {
      if (identity) await status(identity, "running");
    },
    async markWorkerStopped() {
      if (identity) await status(identity, "stopped");
    },
    recordHeartbeat: (run, progress) =>
      post<HeartbeatResult>(runRoute(run.id, "heartbeat"), { attempt: run.attempt, ...progress }),
    async writePoints(run, points) {
      for (let start = 0; start < points.length; start += POINTS_PER_REQUEST) {
        const batch = points
          .slice(start, start + POINTS_PER_REQUEST)
          .map((point) => ({ ...point, value: toApiValue(point.value) }));
        const { owned } = await post<{ owned: boolean }>(runRoute(run.id, "points"), {
          attempt: run.attempt,
          points: batch,
        } satisfies z.input<typeof ZWorkerPointsBody>);
        if (!owned) return false;
      }
      return true;
    },
    async appendLogs(run, lines) {
      let batch: typeof lines = [];
      let bytes = 0;
      const send = async () => {
        if (batch.length)
          await post(runRoute(run.id, "logs"), { attempt: run.attempt, lines: batch } satisfies z.input<
            typeof ZWorkerLogsBody
          >);
        batch = [];
        bytes = 0;
      };
      for (const entry of lines) {
        const line = entry.line.slice(0, 10_000);
        if (bytes + line.length > LOG_BYTES_PER_REQUEST || batch.length >= 5_000) await send();
        batch.push({ stream: entry.stream, line });
        bytes += line.length;
      }
      await send();
    },
    async saveCheckpoint(run, step, data) {
      try {
        const response = await call(
          "POST",
          `${runRoute(run.id, "checkpoints")}?attempt=${run.attempt}&step=${step}`,
          undefined,
          data,
        );
        return ((await response.json()) as { saved: boolean }).saved;
      } catch (error) {
        throw new CheckpointError(`cannot save the checkpoint on ${server}: ${(error as Error).message}`);
      }
    },
    async loadCheckpoint(run) {
      if (!run.checkpoint) return null;
      const response = await call("GET", `${runRoute(run.id, "checkpoints")}/${encodeURIComponent(run.checkpoint.id)}`);
      return new Uint8Array(await response.arrayBuffer());
    },
    finish: async (run, outcome) =>
      (
        await post<{ finished: boolean }>(runRoute(run.id, "finish"), {
          attempt: run.attempt,
          ...outcome,
        } satisfies z.input<typeof ZRunOutcomeBody>)
      ).finished,
    release: async (run, reason) =>
      (await post<{ released: boolean }>(runRoute(run.id, "release"), { attempt: run.attempt, reason })).released,
    async createRunKey(run) {
      const created = await post<{ key: string | null; keyId: string | null }>(runRoute(run.id, "run-key"), {
        attempt: run.attempt,
      });
      if (!created.key || !created.keyId) return null;
      const revokeRoute = `${runRoute(run.id, "run-key")}/${encodeURIComponent(created.keyId)}/revoke`;
      // A key left live expires within a day, and the server revokes a run's keys when its attempt ends.
      const revoke = () =>
        post(revokeRoute, {}).catch(
          (error: unknown) =>
            void runLogger(run.id).warn(
              { err: error },
              `revoking the command run's API key failed: ${messageOf(error)}`,
            ),
        );
      return { key: created.key, revoke: async () => void (await revoke()) };
    },
  };

  let stopping = false;
  const wake = new AbortController();
  let loops: Promise<void>[] = [];
  // Claims in flight: stopClaiming waits for them, so a run claimed at that moment is in the worker's hands (and given back).
  const claiming = new Set<Promise<unknown>>();

  return {
    store,
    async startClaiming(slots, workerName, handle) {
      const claimOne = async (): Promise<{ work: Promise<void> } | null> => {
        const answer = await post<{ run: WireClaimedRun | null }>("/claim", {
          worker: workerName,
          allowCommands: options.allowCommands,
        } satisfies z.input<typeof ZClaimBody>);
        if (!answer.run) return null;
        const run: ClaimedRun = {
          ...answer.run,
          checkpoint: answer.run.checkpoint ? { ...answer.run.checkpoint, data: null, path: null } : null,
        };
        return {
          work: handle(run).catch((error: unknown) =>
            runLogger(run.id).error(
              { err: error, attempt: run.attempt },
              `the run failed in the worker: ${messageOf(error)}`,
            ),
          ),
        };
      };
      const loop = async () => {
        while (!stopping) {
          const claim = claimOne().catch((error: unknown) => {
            logger().warn({ err: error }, `claiming a run failed: ${messageOf(error)}`);
            return null;
          });
          claiming.add(claim);
          const claimed = await claim.finally(() => claiming.delete(claim));
          if (claimed) await claimed.work;
          // Rejects only when stopClaiming or close aborts the wait: the loop then ends.
          else await sleep(options.claimPollMs, undefined, { signal: wake.signal }).catch(() => undefined);
        }
      };
      loops = Array.from({ length: slots }, loop);
    },
    async stopClaiming() {
      stopping = true;
      wake.abort();
      await Promise.allSettled([...claiming]);
    },
    async upkeep() {
      await store
        .recordWorkerHeartbeat("")
        .catch((error: unknown) => logger().warn({ err: error }, `the worker's heartbeat failed: ${messageOf(error)}`));
    },
    async close() {
      stopping = true;
      wake.abort();
      await Promise.race([Promise.allSettled(loops), sleep(1_000)]);
    },
  };
}
