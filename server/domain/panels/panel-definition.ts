import type { z } from "zod";

/**
 * What Scaleboard knows about one panel kind on the server side: how a spec's `panels:` entry (and a
 * report's panel) of this kind is written, what it is called, the panel a user gets when they add one,
 * and what a report shows for it. The browser side (how it is drawn, exported and placed on the
 * experiment page) is app/_features/panels/<kind>.tsx.
 */
export type PanelDefinition<Schema extends z.ZodObject = z.ZodObject, View extends z.ZodObject = z.ZodObject> = {
  /** The `kind:` a spec writes. */
  kind: z.output<Schema>["kind"];
  /** The kind in a reader's words: the editor's "add panel" list, the CLI's summary. */
  label: string;
  /** One sentence on what the panel shows (CLI help). */
  description: string;
  /** The spec's (and a report's) entry for this kind. */
  schema: Schema;
  /**
   * The panel's data as a report shows it: `{ kind, panel, ...data }`. A frozen report stores it as JSON
   * and reads it back through this schema (report-snapshot.ts): a change to its shape needs a new snapshot version.
   */
  view: View;
  /** The panel added for a metric when a user asks for one of this kind (the editor, an experiment without panels). */
  create(metric: string): z.output<Schema>;
  /** The panel in one line: what it plots or lists. */
  describe(panel: z.output<Schema>): string;
};

/** A kind's definition, typed by its schemas: a literal kind, and create and describe on the schema's panel. */
export function definePanel<Schema extends z.ZodObject, View extends z.ZodObject>(
  schema: Schema,
  view: View,
  definition: NoInfer<Omit<PanelDefinition<Schema, View>, "schema" | "view">>,
): PanelDefinition<Schema, View> {
  return { ...definition, schema, view };
}
