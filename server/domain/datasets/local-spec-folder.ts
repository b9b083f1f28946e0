import path from "node:path";

/**
 * The folder of a spec applied with the local CLI in single-user mode, which is then a dataset root;
 * null for everyone else (the web editor, API keys, any server with sign-in on). The local CLI's
 * procedures run in its own process, so its file name resolves against its own working folder.
 *
 * A module of its own, without node:fs, so the web server's bundle (which imports it through the spec
 * router) does not take in resolve-dataset-path.ts: Turbopack would trace the whole project for its
 * file-system calls. The dataset paths themselves are checked in the spec threads (check-spec.ts).
 */
export function localSpecFolder(
  caller: { localCli: boolean; authMode: "on" | "off" },
  fileName: string,
): string | null {
  return caller.localCli && caller.authMode === "off" ? path.dirname(path.resolve(fileName)) : null;
}
