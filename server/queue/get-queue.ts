import { env } from "../env.ts";
import { startProducerQueue, type RunQueue } from "./boss.ts";

const globalForQueue = globalThis as unknown as { scaleboardQueue?: Promise<RunQueue> };

/** The web server's producer queue, started on first use. */
export function getQueue(): Promise<RunQueue> {
  if (!globalForQueue.scaleboardQueue) {
    const url = env().DATABASE_URL;
    if (!url) return Promise.reject(new Error("DATABASE_URL is not set"));
    globalForQueue.scaleboardQueue = startProducerQueue(url)
      .then((started) => started.queue)
      .catch((error: unknown) => {
        globalForQueue.scaleboardQueue = undefined;
        throw error;
      });
  }
  return globalForQueue.scaleboardQueue;
}
