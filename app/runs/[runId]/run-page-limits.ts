/** Charts the run page draws at first (one per metric key); "Show more" adds as many again. */
export const RUN_PAGE_CHARTS = 12;

/**
 * Metric names read for the run page at once: every key a run may log (SCALEBOARD_MAX_METRIC_KEYS,
 * 1,000, metrics.keys' largest page), so the charts can be ordered by meaning, not by name.
 */
export const RUN_PAGE_KEYS = 1_000;

/** The metrics.keys input of the run page's first view: the server prefetches exactly this. */
export function runPageKeysInput(runId: string, search = "") {
  return { runIds: [runId], limit: RUN_PAGE_KEYS, ...(search ? { search } : {}) };
}
