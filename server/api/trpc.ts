import { randomBytes } from "node:crypto";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError, z } from "zod";
import type { Db } from "../db.ts";
import type { Actor } from "../domain/access/actor.ts";
import {
  resolveExperimentAccess,
  resolveProjectAccess,
  resolveRunAccess,
  resolveTeamAccess,
} from "../domain/access/resource-access.ts";
import { APP_ERROR_CODES, AppError } from "../domain/app-error.ts";
import { SpecError } from "../domain/spec/spec-issue.ts";
import type { ApiKeyScope, Role } from "../generated/prisma/enums.ts";
import type { RunQueue } from "../queue/boss.ts";
import { pathToUnstorableText, unstorableTextMessage } from "../domain/validation/unstorable-text.ts";
import { requestLogger } from "../log.ts";

export type TRPCContext = {
  db: Db;
  headers: Headers;
  actor: Actor | null;
  /** A cookie-authenticated request whose Origin is not this site: mutations are refused. */
  crossSite: boolean;
  authError: string | null;
  authMode: "on" | "off";
  /**
   * The local CLI's in-process caller (`scaleboard plan|apply FILE` without --server): with sign-in off,
   * the spec file's folder is then a dataset root (server/domain/datasets/confine-dataset-paths.ts).
   */
  localCli: boolean;
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
  localCli?: boolean;
  queue?: () => Promise<RunQueue>;
}): TRPCContext {
  return {
    db: options.db,
    headers: options.headers ?? new Headers(),
    actor: options.actor ?? null,
    crossSite: options.crossSite ?? false,
    authError: options.authError ?? null,
    authMode: options.authMode ?? "on",
    localCli: options.localCli ?? false,
    queue: options.queue ?? noQueue,
  };
}

const requestIds = new WeakMap<object, string>();

/**
 * The id an unexpected error is known by: the client sees only this id, the server log has it beside
 * the real error (a Prisma message, SQLSTATE or stack never reaches a client). Stable per error object.
 */
export function requestIdOf(error: object): string {
  let id = requestIds.get(error);
  if (!id) {
    id = randomBytes(6).toString("hex");
    requestIds.set(error, id);
  }
  return id;
}

export function internalErrorMessage(requestId: string): string {
  return `Internal error (request id ${requestId}); the server log has the details`;
}

const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error, path }) {
    if (error.code === "INTERNAL_SERVER_ERROR") {
      const requestId = requestIdOf(error);
      requestLogger(requestId).error({ err: error.cause ?? error, path: path ?? null }, `tRPC ${path ?? "?"} failed`);
      return {
        ...shape,
        message: internalErrorMessage(requestId),
        data: { ...shape.data, stack: undefined, zodError: null, specIssues: null, requestId },
      };
    }
    const zodError = error.cause instanceof ZodError ? z.flattenError(error.cause) : null;
    const specIssues = error.cause instanceof SpecError ? error.cause.issues : null;
    return { ...shape, data: { ...shape.data, stack: undefined, zodError, specIssues, requestId: null } };
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
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "Cross-site request refused: state changes must come from Scaleboard's own pages",
    });
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
  if (ctx.actor.kind !== "user")
    throw new TRPCError({ code: "FORBIDDEN", message: "API keys cannot do this; sign in as a person" });
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
    const experiment = await resolveExperimentAccess(
      ctx.db,
      ctx.actor,
      input.experimentId,
      access.role,
      access.keyScopes,
    );
    return next({ ctx: { project: experiment, experimentId: input.experimentId } });
  });
}

/** Procedures on one run, checked through its experiment's project; other teams' runs do not exist. */
export function runProcedure(access: ProcedureAccess) {
  return authedProcedure.input(z.object({ runId: z.string().min(1) })).use(async ({ ctx, input, next }) => {
    await resolveRunAccess(ctx.db, ctx.actor, input.runId, access.role, access.keyScopes);
    return next({ ctx: { runId: input.runId } });
  });
}

/** Who made a change: the person, or the person who created the key. */
export function actingUserId(actor: Actor): string {
  return actor.userId;
}
