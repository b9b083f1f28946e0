import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { specJsonSchema } from "../../server/domain/spec/spec-json-schema.ts";

describe("spec.schema.json", () => {
  it("is committed and matches the zod schema (run `npm run schema` after changing it)", () => {
    const committed = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../spec.schema.json"), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(specJsonSchema())));
  });

  it("lets editors complete the top-level settings and model families", () => {
    const schema = specJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["project", "experiment", "dataset", "model", "training", "sweep", "runner"]));
    expect(schema.required).toEqual(expect.arrayContaining(["project", "experiment", "dataset", "model", "training"]));
    expect(JSON.stringify(schema.properties.model)).toContain('"transformer"');
  });
});
