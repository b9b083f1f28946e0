/** What every view assumes when neither a spec nor its project names a metric (importable by the browser). */
export const DEFAULT_METRIC = { name: "val/loss", goal: "min" } as const;
