import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError, z } from "zod";
import type { Db } from "../db.ts";
import type { Actor } from "../domain/access/actor.ts";
import { resolveProjectAccess, resolveTeamAccess } from "../domain/access/resolve-team-access.ts";
import { APP_ERROR_CODES, AppError } from "../domain/app-error.ts";
import { SpecError } from "../domain/spec/spec-issue.ts";
import type { ApiKeyScope, Role } from "../generated/prisma/enums.ts";
import type { RunQueue } from "../queue/boss.ts";
import { pathToUnstorableText, unstorableTextMessage } from "../domain/validation/unstorable-text.ts";

export type TRPCContext = {
  db: Db;
  headers: Headers;
  actor: Actor | null;
  /** A cookie-authenticated request whose Origin is not this site: mutations are refused. */
  crossSite: boolean;
  authError: string | null;
  authMode: "on" | "off";
  /** The run queue (pg-boss), started on first use. */
  queue: () => Promise<RunQueue>;
};

const noQueue = () => Promise.reject(new Error("no run queue in this context"));

export function createTRPCContext(options: {
  db: Db;
  headers?: Headers;
  actor?: Actor | null;
  crossSite?: boolean;
  authError?: string | null;
  authMode?: "on" | "off";
  queue?: () => Promise<RunQueue>;
}): TRPCContext {
  return {
    db: options.db,
    headers: options.headers ?? new Headers(),
    actor: options.actor ?? null,
    crossSite: options.crossSite ?? false,
    authError: options.authError ?? null,
    authMode: options.authMode ?? "on",
    queue: options.queue ?? noQueue,
  };
}

const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? z.flattenError(error.cause) : null;
    const specIssues = error.cause instanceof SpecError ? error.cause.issues : null;
    return { ...shape, data: { ...shape.data, stack: undefined, zodError, specIssues } };
  },
});

/** Domain errors become the matching tRPC error; anything else stays INTERNAL_SERVER_ERROR. */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: APP_ERROR_CODES[cause.code].trpc, message: cause.message, cause });
  }
  if (!result.ok && result.error.cause instanceof SpecError) {
    throw new TRPCError({ code: "BAD_REQUEST", message: result.error.cause.message, cause: result.error.cause });
  }
  return result;
});

const refuseCrossSiteMutations = t.middleware(({ ctx, type, next }) => {
  if (type === "mutation" && ctx.crossSite) {
    throw new TRPCError({ code: "FORBIDDEN", message: "Cross-site request refused: state changes must come from Scaleboard's own pages" });
  }
  return next();
});

const requireActor = t.middleware(({ ctx, next }) => {
  if (!ctx.actor) throw new TRPCError({ code: "UNAUTHORIZED", message: ctx.authError ?? "Sign in first" });
  return next({ ctx: { actor: ctx.actor } });
});

/**
 * Text PostgreSQL cannot store (NUL, lone surrogates) makes the database refuse the write: that is a 400
 * naming the field, not a 500. Checked only after a failure, so the spec parser's located errors come first.
 */
const refuseUnstorableText = t.middleware(async ({ getRawInput, next }) => {
  const result = await next();
  if (!result.ok && result.error.code === "INTERNAL_SERVER_ERROR") {
    const unstorable = pathToUnstorableText(await getRawInput().catch(() => null));
    if (unstorable !== null) throw new TRPCError({ code: "BAD_REQUEST", message: unstorableTextMessage(unstorable) });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Anyone, signed in or not. */
export const publicProcedure = t.procedure.use(appErrors).use(refuseCrossSiteMutations).use(refuseUnstorableText);

/** Any signed-in user or API key. */
export const authedProcedure = publicProcedure.use(requireActor);

/** A signed-in person (session or local mode); API keys are refused, since keys belong to one team. */
export const userProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.actor.kind !== "user") throw new TRPCError({ code: "FORBIDDEN", message: "API keys cannot do this; sign in as a person" });
  return next({ ctx: { actor: ctx.actor, userId: ctx.actor.userId } });
});

export type ProcedureAccess = { role: Role; keyScopes?: readonly ApiKeyScope[] };

/**
 * Procedures on one team: the input carries `teamId`; the actor needs `role` there (an API key:
 * scope `full`, or one of `keyScopes`). Outsiders get NOT_FOUND.
 */
export function teamProcedure(access: ProcedureAccess) {
  return authedProcedure.input(z.object({ teamId: z.string().min(1) })).use(async ({ ctx, input, next }) => {
    const team = await resolveTeamAccess(ctx.db, ctx.actor, input.teamId, access.role, access.keyScopes);
    return next({ ctx: { team } });
  });
}

/** Procedures on one project, checked through the team that owns it. */
export function projectProcedure(access: ProcedureAccess) {
  return authedProcedure.input(z.object({ projectId: z.string().min(1) })).use(async ({ ctx, input, next }) => {
    const project = await resolveProjectAccess(ctx.db, ctx.actor, input.projectId, access.role, access.keyScopes);
    return next({ ctx: { project } });
  });
}

/** Procedures on one experiment, checked through the team that owns its project. */
export function experimentProcedure(access: ProcedureAccess) {
  return authedProcedure.input(z.object({ experimentId: z.string().min(1) })).use(async ({ ctx, input, next }) => {
    const experiment = await ctx.db.experiment.findUnique({ where: { id: input.experimentId }, select: { projectId: true } });
    if (!experiment) throw new TRPCError({ code: "NOT_FOUND", message: "Experiment not found" });
    try {
      const project = await resolveProjectAccess(ctx.db, ctx.actor, experiment.projectId, access.role, access.keyScopes);
      return next({ ctx: { project, experimentId: input.experimentId } });
    } catch (error) {
      if (error instanceof AppError && error.code === "NOT_FOUND") throw new TRPCError({ code: "NOT_FOUND", message: "Experiment not found" });
      throw error;
    }
  });
}

/** Procedures on one run, checked through its experiment's project; other teams' runs do not exist. */
export function runProcedure(access: ProcedureAccess) {
  return authedProcedure.input(z.object({ runId: z.string().min(1) })).use(async ({ ctx, input, next }) => {
    const run = await ctx.db.run.findUnique({ where: { id: input.runId }, select: { experiment: { select: { projectId: true } } } });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: "Run not found" });
    try {
      await resolveProjectAccess(ctx.db, ctx.actor, run.experiment.projectId, access.role, access.keyScopes);
    } catch (error) {
      if (error instanceof AppError && error.code === "NOT_FOUND") throw new TRPCError({ code: "NOT_FOUND", message: "Run not found" });
      throw error;
    }
    return next({ ctx: { runId: input.runId } });
  });
}

/** Who made a change: the person, or the person who created the key. */
export function actingUserId(actor: Actor): string {
  return actor.userId;
}
