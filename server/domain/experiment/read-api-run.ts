import type { Db } from "../../db.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { AppError } from "../app-error.ts";
import { listMetricKeys, MAX_METRIC_KEYS_PAGE } from "../metrics/query-series.ts";
import { boundedJson, RUN_PAGE_JSON_VALUES } from "../run/get-run.ts";
import { runListItem, runListSelect } from "./list-runs-page.ts";

const runDetailSelect = {
  ...runListSelect,
  attempt: true,
  backend: true,
  heartbeatAt: true,
  cancelRequestedAt: true,
  evalSeconds: true,
  overheadSeconds: true,
  samplesPerSecond: true,
  config: true,
  summary: true,
  notes: true,
  error: true,
} satisfies Prisma.RunSelect;

/**
 * One run as the read API shows it: what a list shows, plus its config (swept values under
 * `params`), summary, notes, clean-time split and the metric keys it logged with their point
 * counts. Bounded: JSON fields list at most RUN_PAGE_JSON_VALUES values (`jsonValues` counts them
 * all) and keys at most MAX_METRIC_KEYS_PAGE (`metricKeyCount` counts them all). The caller has
 * checked that the actor may read the run.
 */
export async function readApiRun(db: Db, runId: string) {
  const run = await db.run.findUnique({ where: { id: runId }, select: runDetailSelect });
  if (!run) throw new AppError("NOT_FOUND", "Run not found");
  const keys = await listMetricKeys(db, { runIds: [runId], limit: MAX_METRIC_KEYS_PAGE });
  const { config, summary, ...listed } = run;
  const boundedConfig = boundedJson(config, RUN_PAGE_JSON_VALUES);
  const boundedSummary = boundedJson(summary, RUN_PAGE_JSON_VALUES);
  return {
    ...runListItem(listed),
    experimentId: run.experiment.id,
    attempt: run.attempt,
    backend: run.backend,
    heartbeatAt: run.heartbeatAt,
    cancelRequestedAt: run.cancelRequestedAt,
    evalSeconds: run.evalSeconds,
    overheadSeconds: run.overheadSeconds,
    samplesPerSecond: run.samplesPerSecond,
    notes: run.notes,
    error: run.error,
    config: boundedConfig.value,
    summary: boundedSummary.value,
    jsonValues: { config: boundedConfig.values, summary: boundedSummary.values },
    metricKeys: keys.keys.map((key) => ({ key: key.key, points: key.pointCount })),
    metricKeyCount: keys.total,
  };
}
