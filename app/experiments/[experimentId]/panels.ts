import type { Spec } from "../../../server/domain/spec/spec-schema.ts";

/** A panel as the resolved spec declares it (defaults filled in by the spec schema). */
export type ExperimentPanel = Spec["panels"][number];

/** What an experiment shows when its spec declares no panels: its loss curves and the scaling fit. */
export const DEFAULT_PANELS = (metric: string): ExperimentPanel[] => [
  { kind: "curves", metric, x: "step", logX: false, logY: false },
  { kind: "scaling", metric, x: "params", fit: true },
];
