import { z } from "zod";
import { localSpecFolder } from "../../domain/datasets/local-spec-folder.ts";
import { applySpec } from "../../domain/spec/apply-spec.ts";
import type { SpecCheckResult } from "../../domain/spec/check-spec.ts";
import type { Cell } from "../../domain/spec/expand-sweep.ts";
import type { ParsedSpec } from "../../domain/spec/parse-spec.ts";
import { planSpec } from "../../domain/spec/plan-spec.ts";
import { checkSpecOffThread, specPool } from "../../domain/spec/spec-pool.ts";
import { SpecError } from "../../domain/spec/spec-issue.ts";
import { diffSpecVersions, getSpecVersion, listSpecVersions } from "../../domain/spec/spec-versions.ts";
import { AppError } from "../../domain/app-error.ts";
import { authMode } from "../../env.ts";
import { authedProcedure, experimentProcedure, router, teamProcedure, type TRPCContext } from "../trpc.ts";

const ZSpecSource = z.object({
  source: z.string().max(1_000_000, "a spec is at most 1 MB"),
  fileName: z.string().min(1).max(200).default("spec.yaml"),
  force: z.boolean().default(false),
});
type SpecSource = z.infer<typeof ZSpecSource>;

/**
 * The spec's cells, checked in the spec thread pool (parsing and expansion never run on the event loop),
 * with CSV paths confined to the dataset roots, plus `specFolder` (the local CLI's spec folder) if given.
 */
async function cellsOf(input: SpecSource, specFolder: string | null): Promise<{ parsed: ParsedSpec; cells: Cell[] }> {
  const result = await checkSpecOffThread({
    source: input.source,
    fileName: input.fileName,
    force: input.force,
    want: "cells",
    specFolder,
  });
  if (result.kind === "invalid") throw new SpecError(result.issues, result.fileName);
  if (result.kind === "too-large") throw new AppError("TOO_LARGE", result.message);
  // Issues were located in the thread; what plan and apply still report has no position in the file.
  const parsed: ParsedSpec = { ...result.parsed, locate: () => ({ line: null, column: null }) };
  return { parsed, cells: result.cells ?? [] };
}

/**
 * The local CLI's spec folder when it is a dataset root: only in local single-user mode, judged by
 * this process's settings (the local CLI's context always says sign-in is off), so a plan never
 * accepts a path that the worker beside a database with sign-in on would then refuse.
 */
function specFolderOf(ctx: TRPCContext, fileName: string): string | null {
  return localSpecFolder({ localCli: ctx.localCli, authMode: authMode() }, fileName);
}

/** How the editor shows a check: never an error for a bad spec, its located issues instead. */
function validation(result: SpecCheckResult) {
  if (result.kind === "checked") return { ok: true as const, issues: [], cellCount: result.cellCount };
  if (result.kind === "invalid") return { ok: false as const, issues: result.issues, cellCount: 0 };
  return {
    ok: false as const,
    issues: [{ path: "sweep", message: result.message, line: null, column: null }],
    cellCount: 0,
  };
}

export const specRouter = router({
  /**
   * For the editor as you type: never fails on a bad spec, returns its located issues instead.
   * The editor has no spec folder: its dataset paths are checked against the server's roots only.
   */
  validate: authedProcedure.input(ZSpecSource).query(async ({ input }) => {
    try {
      return validation(
        await checkSpecOffThread({ source: input.source, fileName: input.fileName, force: input.force, want: "count" }),
      );
    } catch (error) {
      // Over the time or memory limit: the issue names it.
      if (error instanceof SpecError) return { ok: false as const, issues: error.issues, cellCount: 0 };
      throw error;
    }
  }),
  plan: teamProcedure({ role: "viewer" })
    .input(ZSpecSource)
    .query(async ({ ctx, input }) => {
      const { parsed, cells } = await cellsOf(input, specFolderOf(ctx, input.fileName));
      return planSpec(ctx.db, ctx.team.teamId, parsed, cells);
    }),
  // "apply" is a reserved name in tRPC routers.
  applySpec: teamProcedure({ role: "editor" })
    .input(ZSpecSource.extend({ retryFailed: z.boolean().default(false), prune: z.boolean().default(false) }))
    .mutation(async ({ ctx, input }) => {
      const { parsed, cells } = await cellsOf(input, specFolderOf(ctx, input.fileName));
      return applySpec(
        ctx.db,
        await ctx.queue(),
        { teamId: ctx.team.teamId, userId: ctx.actor.userId },
        parsed,
        cells,
        {
          retryFailed: input.retryFailed,
          prune: input.prune,
        },
      );
    }),
  versions: experimentProcedure({ role: "viewer" }).query(({ ctx }) => listSpecVersions(ctx.db, ctx.experimentId)),
  get: experimentProcedure({ role: "viewer" })
    .input(z.object({ version: z.number().int().positive().nullish() }))
    .query(({ ctx, input }) => getSpecVersion(ctx.db, ctx.experimentId, input.version)),
  diff: experimentProcedure({ role: "viewer" })
    .input(z.object({ from: z.number().int().positive(), to: z.number().int().positive() }))
    .query(({ ctx, input }) =>
      diffSpecVersions(ctx.db, ctx.experimentId, input.from, input.to, (sources) => specPool().diff(sources)),
    ),
});
