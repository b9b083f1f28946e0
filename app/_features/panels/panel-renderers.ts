import "~/app/_lib/zod-jitless.ts";
import type { PanelKind } from "~/server/domain/panels/panel-registry.ts";
import { configDiffRenderer } from "./config-diff.tsx";
import { curvesRenderer } from "./curves.tsx";
import type { PanelRenderer } from "./panel-renderer.ts";
import { scalingRenderer } from "./scaling.tsx";
import { tableRenderer } from "./table.tsx";

/** Every panel kind's renderer; the type makes a kind registered in server/domain/panels/ without one fail to compile. */
export const PANEL_RENDERERS: { [Kind in PanelKind]: PanelRenderer<Kind> } = {
  curves: curvesRenderer,
  scaling: scalingRenderer,
  table: tableRenderer,
  "config-diff": configDiffRenderer,
};

/**
 * The renderer of a panel's kind. Called with a panel or view of any kind, its hooks take that union: they
 * are given the panel or view whose kind picked them.
 */
export function panelRenderer<Kind extends PanelKind>(kind: Kind): PanelRenderer<Kind> {
  return PANEL_RENDERERS[kind];
}
