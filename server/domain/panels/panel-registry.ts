import { z } from "zod";
import { configDiffPanel } from "./config-diff.ts";
import { curvesPanel } from "./curves.ts";
import { scalingPanel } from "./scaling.ts";
import { tablePanel } from "./table.ts";

/**
 * Every panel kind a spec's `panels:` and a report accept, in the order the spec schema and the editor
 * list them. A new kind is one file beside this one, listed here, and its renderer in app/_features/panels/.
 */
export const PANEL_DEFINITIONS = [curvesPanel, scalingPanel, tablePanel, configDiffPanel] as const;

type Definitions = typeof PANEL_DEFINITIONS;
export type PanelKind = Definitions[number]["kind"];
export const PANEL_KINDS: readonly PanelKind[] = PANEL_DEFINITIONS.map((definition) => definition.kind);

// The definitions' schemas as a tuple in the registry's order: what z.discriminatedUnion needs to type its options.
type SchemasOf<List extends readonly unknown[], Key extends "schema" | "view"> = {
  -readonly [Index in keyof List]: List[Index] extends Record<Key, infer Schema> ? Schema : never;
};
const schemasOf = <Key extends "schema" | "view">(key: Key) =>
  PANEL_DEFINITIONS.map((definition) => definition[key]) as SchemasOf<Definitions, Key>;

function spokenList(words: readonly string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/** A spec's `panels:` entry, and a report's panel. */
export const ZPanel = z.discriminatedUnion("kind", schemasOf("schema"), {
  message: `panel kind must be ${spokenList(PANEL_KINDS)}`,
});
export type Panel = z.infer<typeof ZPanel>;
export type PanelOf<Kind extends PanelKind> = Extract<Panel, { kind: Kind }>;

/** A panel's data as a report shows it, and as a frozen report stores it. */
export const ZPanelView = z.discriminatedUnion("kind", schemasOf("view"));
export type PanelView = z.infer<typeof ZPanelView>;
export type PanelViewOf<Kind extends PanelKind> = Extract<PanelView, { kind: Kind }>;

type DefinitionOf<Kind extends PanelKind> = Extract<Definitions[number], { kind: Kind }>;

/** The definition of a kind the schema accepted. */
export function panelDefinition<Kind extends PanelKind>(kind: Kind): DefinitionOf<Kind> {
  const definition = PANEL_DEFINITIONS.find((candidate): candidate is DefinitionOf<Kind> => candidate.kind === kind);
  if (!definition) throw new Error(`no panel definition for kind ${kind}`);
  return definition;
}

/** A panel of a kind for a metric, as the kind's definition creates it. */
export function createPanel<Kind extends PanelKind>(kind: Kind, metric: string): PanelOf<Kind> {
  return panelDefinition(kind).create(metric) as PanelOf<Kind>;
}

/** A panel in one line, as its kind's definition describes it: "curves: val/loss vs step (log y)". */
export function describePanel(panel: Panel): string {
  // Each definition's describe takes its own kind's panel; the kind looked up is the panel's own.
  const definition = panelDefinition(panel.kind) as unknown as { label: string; describe(panel: Panel): string };
  return `${definition.label}: ${definition.describe(panel)}`;
}

export { ZXAxis } from "./curves.ts";
