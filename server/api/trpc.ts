import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError, z } from "zod";
import type { Db } from "../db.ts";
import { APP_ERROR_CODES, AppError } from "../domain/app-error.ts";

export type TRPCContext = {
  db: Db;
  headers: Headers;
};

export function createTRPCContext(options: { db: Db; headers: Headers }): TRPCContext {
  return { db: options.db, headers: options.headers };
}

const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? z.flattenError(error.cause) : null;
    return { ...shape, data: { ...shape.data, stack: undefined, zodError } };
  },
});

/** Domain errors become the matching tRPC error; anything else stays INTERNAL_SERVER_ERROR. */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: APP_ERROR_CODES[cause.code].trpc, message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(appErrors);
