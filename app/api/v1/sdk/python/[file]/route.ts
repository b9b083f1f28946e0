import { servePythonSdist } from "~/server/http/python-sdk.ts";

/** GET /api/v1/sdk/python/scaleboard-<version>.tar.gz: the Python package, for `pip install <this URL>`. */
export const dynamic = "force-dynamic";

export async function GET(request: Request, context: { params: Promise<{ file: string }> }) {
  return servePythonSdist(request, (await context.params).file);
}
