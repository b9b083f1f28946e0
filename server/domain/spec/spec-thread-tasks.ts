import { checkSpec, type SpecCheck, type SpecCheckResult } from "./check-spec.ts";
import { diffSpecSources, type SpecSources } from "./spec-versions.ts";

/** Work on spec text that a spec thread does (server/domain/spec/spec-pool.ts): checking a spec, diffing two versions. */
export type SpecThreadTask = { kind: "check"; check: SpecCheck } | { kind: "diff"; sources: SpecSources };

export function runSpecThreadTask(task: SpecThreadTask): SpecCheckResult | string {
  return task.kind === "check" ? checkSpec(task.check) : diffSpecSources(task.sources);
}
