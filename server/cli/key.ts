import { API_KEY_SCOPES } from "../domain/access/roles.ts";
import { EnvError } from "../env.ts";
import type { Backend } from "./backend.ts";
import { out, parseCommandLine } from "./command-line.ts";
import { EXIT, exitCodeOf } from "./exit-codes.ts";
import { table, toJson } from "./format.ts";
import { runCli } from "./run-cli.ts";

/**
 * `scaleboard key create|list|revoke`: the team's API keys from the command line, through the same
 * tRPC procedures as the Team page (server/api/routers/api-key.ts), so only team admins may use
 * them. The secret is printed once, at creation; lists never show it (only its prefix).
 */

const USAGE = `Usage: scaleboard key <create|list|revoke> [options]

  create --scope ingest|worker|full --name NAME [--expires-days N]
                            a new key; its secret is printed once (store it now)
  list                      the team's keys: id, name, scope, prefix, last use, state
  revoke ID                 revoke a key (by id, as key list shows it)

Options:
  --json                    machine-readable output
  --team SLUG               the team, when you are in several
  --server URL              talk to a Scaleboard server (API key in SCALEBOARD_API_KEY; managing
                            keys needs an admin, so this works only where the server lets keys act as one)

Scopes: ingest logs and reads runs (/api/v1, the SDKs, MLflow clients); worker runs a worker on
another host; full acts as an editor everywhere. Only team admins manage keys.
Exit codes: 0 ok, 1 refused or not found, 2 usage, 4 unreachable`;

function when(date: Date | string | null | undefined): string {
  if (!date) return "-";
  return new Date(date).toISOString().replace("T", " ").slice(0, 16);
}

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  scope: string;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  createdBy: { id: string; name: string } | null;
};

function state(key: KeyRow): string {
  if (key.revokedAt) return "revoked";
  if (key.expiresAt && new Date(key.expiresAt) <= new Date()) return "expired";
  return "active";
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("key", USAGE, argv, {
    scope: { type: "string" },
    name: { type: "string" },
    "expires-days": { type: "string" },
  });
  if ("exit" in parsed) return parsed.exit;
  const { values, usageError } = parsed;
  const [action, target, ...extra] = parsed.positionals;
  if (action !== "create" && action !== "list" && action !== "revoke")
    return usageError(action ? `unknown action "${action}": create, list or revoke` : "create, list or revoke?");
  if (extra.length || (action !== "revoke" && target)) return usageError(`unexpected argument "${extra[0] ?? target}"`);
  if (action === "revoke" && !target) return usageError("which key? scaleboard key revoke KEY_ID (see key list)");
  let createInput: { name: string; scope: (typeof API_KEY_SCOPES)[number]; expiresInDays?: number } | null = null;
  if (action === "create") {
    const scope = API_KEY_SCOPES.find((candidate) => candidate === values.scope);
    if (!scope) return usageError(`--scope must be ${API_KEY_SCOPES.join(", ")}`);
    const name = values.name?.trim();
    if (!name) return usageError("--name is required: what the key is for, e.g. --name laptop");
    if (name.length > 100) return usageError("--name is longer than 100 characters");
    let expiresInDays: number | undefined;
    if (values["expires-days"] !== undefined) {
      expiresInDays = Number(values["expires-days"]);
      if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > 3650)
        return usageError("--expires-days must be a whole number from 1 to 3650");
    }
    createInput = { name, scope, ...(expiresInDays !== undefined ? { expiresInDays } : {}) };
  } else if (values.scope !== undefined || values.name !== undefined || values["expires-days"] !== undefined) {
    return usageError("--scope, --name and --expires-days are for key create");
  }

  let backend: Backend | null = null;
  try {
    // Loaded here: Prisma and tRPC take seconds to load, and a usage error needs neither.
    const { openBackend } = await import("./backend.ts");
    backend = await openBackend({ server: values.server, team: values.team });
    const { api, teamId } = backend;
    if (createInput) {
      const created = await api.apiKey.create({ teamId, ...createInput });
      if (values.json) out(toJson({ ...created.apiKey, key: created.key }));
      else {
        out(`Created ${created.apiKey.scope} key "${created.apiKey.name}" (id ${created.apiKey.id}).`);
        out("Its secret, shown this once (store it now; SCALEBOARD_API_KEY=...):");
        out(created.key);
      }
    } else if (action === "list") {
      const keys = (await api.apiKey.list({ teamId })) as KeyRow[];
      if (values.json) out(toJson(keys.map((key) => ({ ...key, state: state(key) }))));
      else if (keys.length === 0) out("No API keys yet: scaleboard key create --scope ingest --name laptop");
      else
        out(
          table(
            ["ID", "NAME", "SCOPE", "PREFIX", "CREATED", "LAST USED", "STATE"],
            keys.map((key) => [
              key.id,
              key.name,
              key.scope,
              key.prefix,
              when(key.createdAt),
              when(key.lastUsedAt),
              state(key),
            ]),
          ),
        );
    } else {
      const revoked = (await api.apiKey.revoke({ teamId, keyId: target! })) as KeyRow;
      if (values.json) out(toJson({ ...revoked, state: state(revoked) }));
      else out(`Revoked key "${revoked.name}" (${revoked.id}); it no longer authenticates.`);
    }
    return EXIT.ok;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (values.json) out(toJson({ error: { message } }));
    process.stderr.write(`${error instanceof EnvError ? "" : "scaleboard key: "}${message}\n`);
    return exitCodeOf(error);
  } finally {
    await backend?.close().catch(() => undefined);
  }
}

runCli(main, "scaleboard key", EXIT.invalid);
