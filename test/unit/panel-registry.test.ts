import { describe, expect, it } from "vitest";
import { z } from "zod";
import { PANEL_RENDERERS } from "../../app/_features/panels/panel-renderers.ts";
import {
  createPanel,
  describePanel,
  PANEL_DEFINITIONS,
  PANEL_KINDS,
  ZPanel,
  ZPanelView,
} from "../../server/domain/panels/panel-registry.ts";
import { ZCreateReportInput, ZReportPanels } from "../../server/domain/report/report-schema.ts";
import { ZSpec } from "../../server/domain/spec/spec-schema.ts";

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  const?: unknown;
  [key: string]: unknown;
};

/** The `kind` constants of a JSON Schema's alternatives (anyOf / oneOf), wherever they sit below `schema`. */
function kindsIn(schema: JsonSchema): string[] {
  const options = [...((schema.anyOf as JsonSchema[]) ?? []), ...((schema.oneOf as JsonSchema[]) ?? [])];
  return options.flatMap((option) => {
    const kind = option.properties?.kind?.const;
    return typeof kind === "string" ? [kind] : kindsIn(option);
  });
}

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as unknown as JsonSchema;

describe("the panel registry", () => {
  it("has one definition for every kind a spec's panels: accepts, as editors see the schema", () => {
    const panels = jsonSchema(ZSpec).properties?.panels?.items;
    if (!panels) throw new Error("the spec schema has no panels: list");
    expect(kindsIn(panels).sort()).toEqual([...PANEL_KINDS].sort());
    expect(new Set(PANEL_KINDS).size).toBe(PANEL_KINDS.length);
  });

  it("has one definition for every kind a report accepts, and the report refuses any other", () => {
    const items = jsonSchema(ZReportPanels).items;
    if (!items) throw new Error("a report's panels are not a list");
    expect(kindsIn(items).sort()).toEqual([...PANEL_KINDS].sort());
    const refused = ZCreateReportInput.safeParse({ title: "t", panels: [{ kind: "pie" }] });
    expect(refused.success).toBe(false);
    const message = refused.error?.issues[0]?.message ?? "";
    for (const kind of PANEL_KINDS) expect(message).toContain(kind);
  });

  it("reads back (as a frozen report stores it) a view of every kind, under that kind", () => {
    const viewKinds = ZPanelView.options.map((option) => option.shape.kind.value);
    expect(viewKinds).toEqual([...PANEL_KINDS]);
  });

  it("has a browser renderer for every kind and none for a kind it does not define", () => {
    expect(Object.keys(PANEL_RENDERERS).sort()).toEqual([...PANEL_KINDS].sort());
    for (const renderer of Object.values(PANEL_RENDERERS)) {
      expect(typeof renderer.Report).toBe("function");
      expect(typeof renderer.csvRows).toBe("function");
      expect(typeof renderer.Fields).toBe("function");
    }
  });

  it("creates, for every kind, a complete panel that a spec accepts as written, and describes it in one line", () => {
    for (const definition of PANEL_DEFINITIONS) {
      const panel = createPanel(definition.kind, "val/accuracy");
      expect(panel.kind).toBe(definition.kind);
      // Complete: parsing fills in nothing (the panel already has every default) and changes nothing.
      expect(ZPanel.parse(panel)).toEqual(panel);
      const line = describePanel(panel);
      expect(line.startsWith(`${definition.label}: `)).toBe(true);
      expect(line).not.toContain("\n");
      expect(definition.description.length).toBeGreaterThan(0);
    }
    expect(describePanel(createPanel("curves", "val/accuracy"))).toBe("curves: val/accuracy vs step");
    expect(describePanel({ kind: "table", columns: ["name", "model.width"] })).toBe(
      "runs table: columns name, model.width",
    );
  });
});
