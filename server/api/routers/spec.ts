import { z } from "zod";
import { applySpec } from "../../domain/spec/apply-spec.ts";
import { expandSweep } from "../../domain/spec/expand-sweep.ts";
import { parseSpec } from "../../domain/spec/parse-spec.ts";
import { planSpec } from "../../domain/spec/plan-spec.ts";
import { SpecError } from "../../domain/spec/spec-issue.ts";
import { diffSpecVersions, getSpecVersion, listSpecVersions } from "../../domain/spec/spec-versions.ts";
import { AppError } from "../../domain/app-error.ts";
import { authedProcedure, experimentProcedure, router, teamProcedure } from "../trpc.ts";

const ZSpecSource = z.object({
  source: z.string().max(1_000_000, "a spec is at most 1 MB"),
  fileName: z.string().min(1).max(200).default("spec.yaml"),
  force: z.boolean().default(false),
});

export const specRouter = router({
  /** For the editor as you type: never fails on a bad spec, returns its located issues instead. */
  validate: authedProcedure.input(ZSpecSource).query(({ input }) => {
    try {
      const cells = expandSweep(parseSpec(input.source, input.fileName), { force: input.force });
      return { ok: true as const, issues: [], cellCount: cells.length };
    } catch (error) {
      if (error instanceof SpecError) return { ok: false as const, issues: error.issues, cellCount: 0 };
      if (error instanceof AppError && error.code === "TOO_LARGE") return { ok: false as const, issues: [{ path: "sweep", message: error.message, line: null, column: null }], cellCount: 0 };
      throw error;
    }
  }),
  plan: teamProcedure({ role: "viewer" })
    .input(ZSpecSource)
    .query(async ({ ctx, input }) => {
      const parsed = parseSpec(input.source, input.fileName);
      return planSpec(ctx.db, ctx.team.teamId, parsed, expandSweep(parsed, { force: input.force }));
    }),
  // "apply" is a reserved name in tRPC routers.
  applySpec: teamProcedure({ role: "editor" })
    .input(ZSpecSource.extend({ retryFailed: z.boolean().default(false), prune: z.boolean().default(false) }))
    .mutation(async ({ ctx, input }) => {
      const parsed = parseSpec(input.source, input.fileName);
      const cells = expandSweep(parsed, { force: input.force });
      return applySpec(ctx.db, await ctx.queue(), { teamId: ctx.team.teamId, userId: ctx.actor.userId }, parsed, cells, {
        retryFailed: input.retryFailed,
        prune: input.prune,
      });
    }),
  versions: experimentProcedure({ role: "viewer" }).query(({ ctx }) => listSpecVersions(ctx.db, ctx.experimentId)),
  get: experimentProcedure({ role: "viewer" })
    .input(z.object({ version: z.number().int().positive().nullish() }))
    .query(({ ctx, input }) => getSpecVersion(ctx.db, ctx.experimentId, input.version)),
  diff: experimentProcedure({ role: "viewer" })
    .input(z.object({ from: z.number().int().positive(), to: z.number().int().positive() }))
    .query(({ ctx, input }) => diffSpecVersions(ctx.db, ctx.experimentId, input.from, input.to)),
});
