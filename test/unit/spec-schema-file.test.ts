import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { specJsonSchema } from "../../server/domain/spec/spec-json-schema.ts";

describe("spec.schema.json", () => {
  it("is committed and matches the zod schema (run `npm run schema` after changing it)", () => {
    const committed = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../spec.schema.json"), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(specJsonSchema())));
  });

  it("lets editors complete the top-level settings and model families", () => {
    const schema = specJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["project", "experiment", "dataset", "model", "training", "sweep", "runner"]),
    );
    expect(schema.required).toEqual(expect.arrayContaining(["project", "experiment", "dataset", "model", "training"]));
    expect(JSON.stringify(schema.properties.model)).toContain('"transformer"');
  });

  it("accepts every example, and wants training.budget unless an IsoFLOP sweep sets it", () => {
    const validate = new Ajv({ strict: false }).compile(specJsonSchema());
    const examples = path.resolve(import.meta.dirname, "../../examples");
    for (const name of readdirSync(examples).filter((file) => file.endsWith(".yaml"))) {
      const spec = parseYaml(readFileSync(path.join(examples, name), "utf8"));
      expect(validate(spec), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    const spec = {
      project: "p",
      experiment: "e",
      dataset: { kind: "iris" },
      model: { family: "mlp", width: 8 },
      training: { optimizer: { lr: 0.01 } },
    };
    const isoflop = { isoflop: { budgets: [1e9], parameters: { "model.width": [8, 16] } } };
    expect(validate(spec)).toBe(false);
    expect(validate({ ...spec, sweep: isoflop })).toBe(true);
    expect(validate({ ...spec, training: { ...spec.training, budget: { steps: 10 } } })).toBe(true);
    expect(validate({ ...spec, training: { ...spec.training, budget: { steps: 10 } }, sweep: isoflop })).toBe(true);
  });
});
