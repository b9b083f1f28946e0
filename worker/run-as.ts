import { readFileSync } from "node:fs";

/** The account a command run's process runs as, when the worker drops privileges for it. */
export type RunAsUser = { name: string; uid: number; gid: number; home: string };

/** An /etc/passwd entry by user name or uid; null when there is none. */
export function findUser(nameOrUid: string, passwd = "/etc/passwd"): RunAsUser | null {
  let text: string;
  try {
    text = readFileSync(passwd, "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    const [name, , uid, gid, , home] = line.split(":");
    if (!name || uid === undefined || gid === undefined) continue;
    if (name === nameOrUid || (/^\d+$/.test(nameOrUid) && uid === nameOrUid))
      return { name, uid: Number(uid), gid: Number(gid), home: home || "/" };
  }
  return null;
}

export class RunAsError extends Error {
  override name = "RunAsError";
}

/**
 * What --run-as USER (or SCALEBOARD_RUN_AS) means for this worker: as root, command children run as
 * that user; as any other user, only that same user makes sense (a process cannot become another
 * one). Returns the user to switch to, or null when children run as the worker itself; `warning`
 * says when a root worker that allows commands would run them as root.
 */
export function resolveRunAs(
  requested: string | undefined,
  allowCommands: boolean,
  currentUid: number | undefined = process.getuid?.(),
): { user: RunAsUser | null; warning: string | null } {
  const root = currentUid === 0;
  if (!requested) {
    const warning =
      root && allowCommands
        ? "runs as root and allows commands: command runs get root on this host; pass --run-as USER (e.g. --run-as nobody) to run them as an unprivileged user"
        : null;
    return { user: null, warning };
  }
  const user = findUser(requested);
  if (!user) throw new RunAsError(`--run-as ${requested}: no such user on this host`);
  if (user.uid === currentUid) return { user: null, warning: null };
  if (!root)
    throw new RunAsError(
      `--run-as ${requested} needs the worker to run as root to switch users (it runs as uid ${currentUid ?? "?"}); start it as root, or as ${requested} without --run-as`,
    );
  if (user.uid === 0)
    return { user: null, warning: allowCommands ? "--run-as names root: command runs get root on this host" : null };
  return { user, warning: null };
}
