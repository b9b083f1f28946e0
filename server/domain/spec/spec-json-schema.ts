import { z } from "zod";
import { ZSpec } from "./spec-schema.ts";

/** The JSON Schema of a spec as a user writes it (defaults optional), generated from the zod schema. */
export function specJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ZSpec, { io: "input", unrepresentable: "any", target: "draft-7" }) as Record<
    string,
    unknown
  >;
  // training.budget is required unless an IsoFLOP sweep sets it per cell (as parse-spec.ts reads a spec).
  const training = (schema.properties as Record<string, { required?: string[] }> | undefined)?.training;
  if (training?.required) training.required = training.required.filter((key) => key !== "budget");
  const budgetUnlessIsoflop = {
    if: { not: { required: ["sweep"], properties: { sweep: { required: ["isoflop"] } } } },
    // biome-ignore lint/suspicious/noThenProperty: "then" is the JSON Schema keyword (draft-07 if/then), never awaited
    then: { properties: { training: { required: ["budget"] } } },
  };
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://scaleboard.dev/spec.schema.json",
    title: "Scaleboard experiment spec",
    description:
      "One experiment: dataset, model, training, runner and sweep. See examples/ in the Scaleboard repository.",
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== "$schema")),
    allOf: [budgetUnlessIsoflop],
  };
}
