import { z } from "zod";
import type { Db } from "../../db.ts";
import { guessMetricGoal, scalarParams } from "../run/runs-table.ts";
import {
  type ImportanceParameter,
  type ImportanceResult,
  type ParamValue,
  parameterImportance,
} from "./parameter-importance.ts";

/**
 * One experiment's sweep as the hyperparameter view draws it: every run's swept values (config.params,
 * the keys the runs table shows as columns) and its metric value as the runs table shows it (the
 * metric series' last value, or its best), plus each parameter's importance over the succeeded runs.
 * Work is bounded: at most MAX_SWEEP_RUNS runs (the oldest first, as the sweep was queued) and
 * MAX_SWEEP_PARAMETERS parameters are read; the answer says when more exist.
 */

export const MAX_SWEEP_RUNS = 2000;
export const MAX_SWEEP_PARAMETERS = 30;

export const ZSweepHyperparametersOptions = z.object({
  /** The metric whose value colours the lines, e.g. "val/loss" (the spec's `metric`). */
  metric: z.string().min(1).max(200).default("val/loss"),
  metricGoal: z.enum(["min", "max"]).optional(),
  /** final: the series' last value; best: its minimum (goal min) or maximum (goal max). */
  use: z.enum(["final", "best"]).default("final"),
});
export type SweepHyperparametersOptions = z.input<typeof ZSweepHyperparametersOptions>;

export type SweepRun = {
  id: string;
  name: string;
  status: string;
  params: Record<string, ParamValue>;
  /** The metric's final or best value; null when the run has none yet. */
  value: number | null;
};

export type SweepHyperparameters = {
  metric: string;
  goal: "min" | "max";
  use: "final" | "best";
  parameters: ImportanceParameter[];
  runs: SweepRun[];
  /** The experiment's run count; more than runs.length when MAX_SWEEP_RUNS cut the list. */
  totalRuns: number;
  /** Parameters past MAX_SWEEP_PARAMETERS (in name order) that were left out. */
  omittedParameters: number;
  importance: ImportanceResult;
};

type RawRun = {
  id: string;
  name: string;
  status: string;
  params: unknown;
  lastValue: number | null;
  minValue: number | null;
  maxValue: number | null;
};

export async function readSweepHyperparameters(
  db: Db,
  experimentId: string,
  input: SweepHyperparametersOptions,
): Promise<SweepHyperparameters> {
  const options = ZSweepHyperparametersOptions.parse(input);
  const goal = options.metricGoal ?? guessMetricGoal(options.metric);
  const loaded = await db.$queryRaw<RawRun[]>`
    SELECT r.id, r.name, r.status::text AS status, r.config -> 'params' AS params,
           ms."lastValue", ms."minValue", ms."maxValue"
    FROM "Run" r
    LEFT JOIN "MetricSeries" ms ON ms."runId" = r.id AND ms.key = ${options.metric}
    WHERE r."experimentId" = ${experimentId}
    ORDER BY r."createdAt" ASC, r.id ASC
    LIMIT ${MAX_SWEEP_RUNS + 1}::int`;
  const totalRuns = loaded.length > MAX_SWEEP_RUNS ? await db.run.count({ where: { experimentId } }) : loaded.length;

  const runs: SweepRun[] = loaded.slice(0, MAX_SWEEP_RUNS).map((run) => ({
    id: run.id,
    name: run.name,
    status: run.status,
    params: scalarParams(run.params),
    value: options.use === "final" ? run.lastValue : goal === "max" ? run.maxValue : run.minValue,
  }));

  // A parameter is numeric when every run that has it holds a number there (as the runs table sorts it).
  const kinds = new Map<string, ImportanceParameter["kind"]>();
  for (const run of runs)
    for (const [name, value] of Object.entries(run.params)) {
      if (value === null) continue;
      if (typeof value !== "number") kinds.set(name, "categorical");
      else if (!kinds.has(name)) kinds.set(name, "numeric");
    }
  const names = [...kinds.keys()].sort();
  const parameters = names.slice(0, MAX_SWEEP_PARAMETERS).map((name) => ({ name, kind: kinds.get(name)! }));

  const finished = runs.flatMap((run) =>
    run.status === "succeeded" && run.value !== null && Number.isFinite(run.value)
      ? [{ params: run.params, value: run.value }]
      : [],
  );
  return {
    metric: options.metric,
    goal,
    use: options.use,
    parameters,
    runs,
    totalRuns,
    omittedParameters: names.length - parameters.length,
    importance: parameterImportance(finished, parameters),
  };
}
