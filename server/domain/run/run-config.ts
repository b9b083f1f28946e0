import { z } from "zod";
import { ZCheckpointing, ZDataset, ZModel, ZResources, ZRunner, ZTraining, ZValidation } from "../spec/spec-schema.ts";

/**
 * A run's stored `config`: its sweep cell's settings as the spec schema resolved them (defaults
 * filled in) and the cell's swept and derived values by config path. Read back, it is parsed again,
 * so a config this version of the schema no longer accepts is refused by name instead of trained.
 */
export const ZRunConfig = z.strictObject({
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
  dataset: ZDataset,
  validation: ZValidation,
  model: ZModel,
  training: ZTraining,
  runner: ZRunner,
});
export type RunConfig = z.infer<typeof ZRunConfig>;

/** What a claim reads of the spec version a run came from; the rest of the resolved spec is not its concern. */
export const ZRunSpecSettings = z.object({ resources: ZResources.optional(), checkpoint: ZCheckpointing.optional() });
export type RunSpecSettings = z.infer<typeof ZRunSpecSettings>;

/** A zod error in one line: the first few issues with their paths. */
export function describeIssues(error: z.ZodError, limit = 3): string {
  const listed = error.issues
    .slice(0, limit)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`);
  const more = error.issues.length - listed.length;
  return listed.join("; ") + (more > 0 ? `; and ${more} more` : "");
}
