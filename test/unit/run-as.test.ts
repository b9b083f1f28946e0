import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findUser, resolveRunAs, RunAsError } from "../../worker/run-as.ts";

/** --run-as USER: who a worker runs command children as, decided from the worker's own uid. */

let folder: string;
let passwd: string;
beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), "scaleboard-run-as-"));
  passwd = path.join(folder, "passwd");
  await writeFile(
    passwd,
    "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
  );
});
afterAll(async () => rm(folder, { recursive: true, force: true }));

describe("findUser", () => {
  it("finds a user by name or uid, and nothing for an unknown one", () => {
    expect(findUser("nobody", passwd)).toEqual({ name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent" });
    expect(findUser("65534", passwd)?.name).toBe("nobody");
    expect(findUser("mallory", passwd)).toBeNull();
  });
});

describe("resolveRunAs", () => {
  const nobody = findUser("nobody");
  it.skipIf(!nobody)("a root worker drops to the named user (skipped when this host has no user nobody)", () => {
    expect(resolveRunAs("nobody", true, 0)).toEqual({ user: nobody, warning: null });
  });

  it("a root worker that allows commands without --run-as is warned; one that does not allow them is not", () => {
    expect(resolveRunAs(undefined, true, 0).warning).toMatch(/runs as root and allows commands.*--run-as USER/);
    expect(resolveRunAs(undefined, false, 0).warning).toBeNull();
    expect(resolveRunAs(undefined, true, 1000)).toEqual({ user: null, warning: null });
  });

  it.skipIf(!nobody)(
    "a worker that is not root cannot switch to another user: a clear error (skipped when this host has no user nobody)",
    () => {
      expect(() => resolveRunAs("root", true, 65534)).toThrow(RunAsError);
      expect(() => resolveRunAs("root", true, 65534)).toThrow(
        "--run-as root needs the worker to run as root to switch users (it runs as uid 65534)",
      );
      // Naming itself is fine: children simply run as the worker does.
      expect(resolveRunAs("nobody", true, 65534)).toEqual({ user: null, warning: null });
    },
  );

  it("an unknown user is an error naming it", () => {
    expect(() => resolveRunAs("no-such-user-here", true, 0)).toThrow(
      "--run-as no-such-user-here: no such user on this host",
    );
  });
});
