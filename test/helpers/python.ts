import { spawnSync } from "node:child_process";

/**
 * The Python interpreter a test should run: the first of $PYTHON, `python3` on PATH and Debian's
 * /usr/bin/python3 that imports every module asked for. Machines may carry a pyenv python3 first on
 * PATH without Debian's python3-scipy or python3-torch, which `.ci/run` installs for /usr/bin/python3.
 * Returns null when none does, so a test can fail with a message naming the missing modules.
 */
export function findPython(modules: readonly string[] = []): string | null {
  const candidates = [process.env.PYTHON, "python3", "/usr/bin/python3"].filter((candidate): candidate is string =>
    Boolean(candidate),
  );
  const probe = modules.length ? `import ${modules.join(", ")}` : "pass";
  for (const candidate of candidates) {
    const result = spawnSync(candidate, ["-c", probe], { stdio: "ignore", timeout: 60_000 });
    if (result.status === 0) return candidate;
  }
  return null;
}

/** Like findPython, but throws naming the modules and how to install them. */
export function requirePython(modules: readonly string[] = []): string {
  const python = findPython(modules);
  if (python) return python;
  const wanted = modules.length ? ` with ${modules.join(", ")}` : "";
  throw new Error(
    `No python3${wanted} found (tried $PYTHON, python3, /usr/bin/python3): ` +
      `apt-get install python3 ${modules.map((module) => `python3-${module}`).join(" ")}`.trim(),
  );
}
