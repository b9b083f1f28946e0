import { readLoggedPoints } from "../../server/domain/metrics/read-points.ts";
import { expect } from "vitest";
import { init } from "scaleboard/sdk";
import { createCaller } from "../../server/api/root.ts";
import { createTRPCContext } from "../../server/api/trpc.ts";
import type { Db } from "../../server/db.ts";
import type { RunStatus } from "../../server/generated/prisma/enums.ts";
import type { RunQueue } from "../../server/queue/boss.ts";
import { userActor } from "../helpers/actors.ts";
import { waitFor } from "../helpers/worker-process.ts";

/** Shared pieces of the fault-injection tests: specs, logging clients and the checks a user would make. */

export const FINISHED: RunStatus[] = ["succeeded", "failed", "canceled", "diverged"];

/** A tiny teacher-regression MLP spec that trains in a few seconds; `extra` is appended YAML. */
export function tinySpec(experiment: string, options: { steps: number; extra?: string; batchSize?: number }): string {
  const batchSize = options.batchSize ?? 32;
  return `
project: Faults
experiment: ${experiment}
dataset: { kind: teacher, inputs: 4, hidden: 8, samples: ${Math.max(256, batchSize * 4)} }
model: { family: mlp, width: 8, depth: 1 }
training:
  optimizer: { kind: adam, lr: 0.01 }
  batchSize: ${batchSize}
  budget: { steps: ${options.steps} }
  evalEvery: 1000
  logEvery: 10
resources: { backend: wasm }
${options.extra ?? ""}`;
}

export async function applySpec(
  db: Db,
  queue: RunQueue,
  editorId: string,
  teamId: string,
  source: string,
): Promise<string[]> {
  const caller = createCaller(createTRPCContext({ db, actor: userActor(editorId), queue: async () => queue }));
  const result = await caller.spec.applySpec({ teamId, source, fileName: "faults.yaml" });
  return result.created;
}

/** The train/loss steps a run of `totalSteps` logs: every logEvery-th step, and the last step again at the end. */
export function expectedLossSteps(totalSteps: number, logEvery = 10): number[] {
  const steps = new Set<number>();
  for (let step = 0; step < totalSteps; step += logEvery) steps.add(step);
  steps.add(totalSteps - 1);
  return [...steps].sort((a, b) => a - b);
}

export async function waitUntilFinished(db: Db, runIds: string[], timeoutMs: number) {
  await waitFor(
    `${runIds.length} run(s) to finish`,
    async () => {
      try {
        return (await db.run.count({ where: { id: { in: runIds }, status: { in: FINISHED } } })) === runIds.length;
      } catch {
        return false; // the database may be restarting
      }
    },
    { timeoutMs, intervalMs: 500 },
  );
  return db.run.findMany({
    where: { id: { in: runIds } },
    select: { id: true, status: true, attempt: true, workerName: true, error: true },
  });
}

/** What a user checks after a fault: each series holds each step once, and its counters agree with its rows. */
export async function storedSeries(db: Db, runId: string, key: string): Promise<Map<number, number>> {
  const copies = new Map<number, { step: number; value: number; copies: number }>();
  for (const point of await readLoggedPoints(db, { runId, key })) {
    const row = copies.get(point.step) ?? { step: point.step, value: point.value, copies: 0 };
    copies.set(point.step, { ...row, value: Math.min(row.value, point.value), copies: row.copies + 1 });
  }
  const rows = [...copies.values()];
  expect(
    rows.filter((row) => row.copies !== 1),
    `steps of ${key} stored more than once in run ${runId}`,
  ).toEqual([]);
  const series = await db.metricSeries.findFirst({ where: { runId, key }, select: { pointCount: true } });
  expect(series?.pointCount ?? 0, `pointCount of ${key} in run ${runId}`).toBe(rows.length);
  return new Map(rows.map((row) => [row.step, row.value]));
}

/** The value a client logs at a step: distinct per client, so a point stored in the wrong run would show. */
export function loggedValue(client: number, step: number): number {
  return client * 1000 + step / 7;
}

export type ClientResult = {
  runId: string;
  logged: number[];
  acknowledged: number[];
  failedRequests: number;
  statuses: Set<number>;
};

/**
 * A training script logging through the SDK (its retries and backoff): flushes every `every` steps and
 * counts a point as acknowledged only once its flush resolved.
 */
export async function loggingClient(
  apiUrl: string,
  apiKey: string,
  options: {
    client: number;
    steps: number;
    every: number;
    pauseMs: number;
    experiment: string;
    until?: Promise<unknown>;
  },
): Promise<ClientResult> {
  let stopped = !options.until;
  void options.until?.then(() => (stopped = true));
  let failedRequests = 0;
  const statuses = new Set<number>();
  // Counts the requests that failed (refused, reset, 5xx) and that the SDK retried.
  const counting: typeof fetch = async (input, init) => {
    try {
      const response = await fetch(input, init);
      statuses.add(response.status);
      if (response.status >= 500) failedRequests++;
      return response;
    } catch (error) {
      failedRequests++;
      throw error;
    }
  };
  const run = await init({
    apiUrl,
    apiKey,
    project: "Faults",
    experiment: options.experiment,
    name: `client-${options.client}`,
    maxAttempts: 12,
    flushIntervalMs: 3_600_000,
    batchSize: 10_000,
    fetch: counting,
  });
  const result: ClientResult = { runId: run.id, logged: [], acknowledged: [], failedRequests: 0, statuses };
  let pending: number[] = [];
  // At least `steps` steps, and on until `until` resolves: the fault happens while it logs.
  for (let step = 0; step < options.steps || !stopped; step++) {
    run.log({ loss: loggedValue(options.client, step) }, step);
    result.logged.push(step);
    pending.push(step);
    if (pending.length >= options.every) {
      await run.flush();
      result.acknowledged.push(...pending);
      pending = [];
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  }
  await run.finish("succeeded");
  result.acknowledged.push(...pending);
  result.failedRequests = failedRequests;
  return result;
}

/** Every acknowledged point is stored once with the value logged; nothing is stored that was never logged. */
export async function expectClientStored(db: Db, client: number, result: ClientResult): Promise<void> {
  const stored = await storedSeries(db, result.runId, "loss");
  const missing = result.acknowledged.filter((step) => !stored.has(step));
  expect(missing, `client ${client}: acknowledged steps missing`).toEqual([]);
  const invented = [...stored.keys()].filter((step) => !result.logged.includes(step));
  expect(invented, `client ${client}: steps stored but never logged`).toEqual([]);
  for (const [step, value] of stored)
    expect(value, `client ${client} step ${step}`).toBeCloseTo(loggedValue(client, step), 9);
  const run = await db.run.findUniqueOrThrow({ where: { id: result.runId }, select: { status: true } });
  expect(run.status).toBe("succeeded");
}
