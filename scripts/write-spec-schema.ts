// `npm run schema`: writes spec.schema.json from the zod spec schema, so editors (the
// yaml-language-server line in a spec, VS Code, the browser editor) autocomplete and check specs.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { specJsonSchema } from "../server/domain/spec/spec-json-schema.ts";

const target = path.resolve(import.meta.dirname, "../spec.schema.json");
const check = process.argv.includes("--check");
const text = `${JSON.stringify(specJsonSchema(), null, 2)}\n`;
if (check) {
  const { readFileSync, existsSync } = await import("node:fs");
  if (!existsSync(target) || readFileSync(target, "utf8") !== text) {
    console.error("spec.schema.json is out of date: run npm run schema");
    process.exit(1);
  }
  console.log("spec.schema.json is up to date");
} else {
  writeFileSync(target, text);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
