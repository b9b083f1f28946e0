import { z } from "zod";
import { definePanel } from "./panel-definition.ts";

export const ZConfigDiffPanel = z.strictObject({ kind: z.literal("config-diff") });
export type ConfigDiffPanel = z.infer<typeof ZConfigDiffPanel>;

/** A config diff reads the report's runs themselves: its view holds nothing more than the panel. */
export const ZConfigDiffPanelView = z.object({ kind: z.literal("config-diff"), panel: ZConfigDiffPanel });
export type ConfigDiffPanelView = z.infer<typeof ZConfigDiffPanelView>;

export const configDiffPanel = definePanel(ZConfigDiffPanel, ZConfigDiffPanelView, {
  kind: "config-diff",
  label: "config diff",
  description: "every configuration key whose value differs between the runs (model, dataset, optimizer, ...)",
  create: () => ({ kind: "config-diff" }),
  describe: () => "configuration keys that differ between runs, over each run's whole resolved config",
});
