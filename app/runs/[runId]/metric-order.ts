/**
 * The order of the run page's charts: what a reader looks for first (the losses, training before
 * validation), then evaluation, training, other metrics, and last the counters and system series
 * (flops, samples, tokens, time, lr, grad_norm), which say how a run went rather than how good it is.
 */

export type MetricGroup = "Losses" | "Evaluation" | "Training" | "Other" | "System";

export const METRIC_GROUPS: readonly MetricGroup[] = ["Losses", "Evaluation", "Training", "Other", "System"];

const HEADLINE = ["train/loss", "val/loss"];
const EVALUATION = /^(val|valid|validation|eval|test)[/_.]/i;
const TRAINING = /^train[/_.]/i;
const OPTIMIZER = /(^|[/_.])(lr|learning_rate|grad_norm|gradient_norm|weight_norm|momentum|beta\d?|loss_scale)$/i;
const COUNTERS =
  /^(step|steps|epoch|flops|samples|tokens|wallclock|examples)$|^(system|time|perf|throughput)[/_.]|_per_sec(ond)?$|PerSecond$/i;

export function metricGroup(key: string, ownMetric?: string | null): MetricGroup {
  if (key === ownMetric || HEADLINE.includes(key) || /loss/i.test(key)) return "Losses";
  if (COUNTERS.test(key)) return "System";
  if (OPTIMIZER.test(key)) return "Training";
  if (EVALUATION.test(key)) return "Evaluation";
  if (TRAINING.test(key)) return "Training";
  return "Other";
}

/**
 * Within the losses: the run's own metric (val_loss, say), train/loss, val/loss, then training,
 * evaluation and other losses. train/loss and val/loss keep their order when one of them is the
 * run's metric: training before validation.
 */
function lossRank(key: string, ownMetric?: string | null): number {
  const headline = HEADLINE.indexOf(key);
  if (headline >= 0) return 1 + headline;
  if (key === ownMetric) return 0;
  if (TRAINING.test(key)) return 3;
  if (EVALUATION.test(key)) return 4;
  return 5;
}

const byName = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Keys in the page's order; `ownMetric` is the metric the spec or project names, when known. */
export function orderMetricKeys<T extends { key: string }>(entries: readonly T[], ownMetric?: string | null): T[] {
  const rank = (key: string) => {
    const group = METRIC_GROUPS.indexOf(metricGroup(key, ownMetric));
    // Within training, the model's own series before the optimizer's (lr, grad_norm).
    const within = group === 0 ? lossRank(key, ownMetric) : group === 2 && OPTIMIZER.test(key) ? 1 : 0;
    return group * 10 + within;
  };
  return [...entries].sort((a, b) => rank(a.key) - rank(b.key) || byName.compare(a.key, b.key));
}
