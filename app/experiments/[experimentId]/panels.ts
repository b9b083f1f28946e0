import { createPanel, type Panel } from "~/server/domain/panels/panel-registry.ts";

/** A panel as the resolved spec declares it (defaults filled in by the spec schema). */
export type ExperimentPanel = Panel;

/** What an experiment shows when its spec declares no panels: its loss curves and the scaling fit. */
export const DEFAULT_PANELS = (metric: string): ExperimentPanel[] => [
  createPanel("curves", metric),
  createPanel("scaling", metric),
];
