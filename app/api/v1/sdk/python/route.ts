import { redirectToPythonSdist } from "~/server/http/python-sdk.ts";

/** GET /api/v1/sdk/python: redirects to the current scaleboard-<version>.tar.gz (no key needed: it is the client). */
export const dynamic = "force-dynamic";

export function GET(request: Request) {
  return redirectToPythonSdist(request);
}
