import { toNextJsHandler } from "better-auth/next-js";
import { getAuth } from "~/server/auth/get-auth.ts";
import { KIB, limitRequestBody } from "~/server/http/body-limit.ts";

export const dynamic = "force-dynamic";

/** Sign-in, sign-up and account forms are a few fields each. */
const AUTH_BODY_LIMIT = 64 * KIB;

export async function GET(request: Request) {
  return toNextJsHandler(getAuth()).GET(request);
}

export async function POST(received: Request) {
  const request = await limitRequestBody(received, AUTH_BODY_LIMIT, "/api/auth");
  if (request instanceof Response) return request;
  return toNextJsHandler(getAuth()).POST(request);
}
