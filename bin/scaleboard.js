#!/usr/bin/env node
// The `scaleboard` command (npx scaleboard ...): runs the TypeScript entry points through tsx.
import { spawn } from "node:child_process";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const commands = {
  start: ["server/cli/start.ts"],
  dev: ["server/cli/start.ts", "--dev"],
  migrate: ["server/cli/migrate.ts"],
  worker: ["worker/main.ts"],
  plan: ["server/cli/main.ts", "plan"],
  apply: ["server/cli/main.ts", "apply"],
  status: ["server/cli/main.ts", "status"],
  cancel: ["server/cli/main.ts", "cancel"],
  logs: ["server/cli/main.ts", "logs"],
  import: ["server/cli/import.ts"],
  report: ["server/cli/report.ts"],
  key: ["server/cli/key.ts"],
};

const [command, ...rest] = process.argv.slice(2);
if (!command || command === "help" || command === "--help" || !(command in commands)) {
  const known = Object.keys(commands).join(", ");
  if (command && command !== "help" && command !== "--help")
    console.error(`scaleboard: unknown command "${command}" (known: ${known})`);
  console.log(`Usage: scaleboard <command>

Commands:
  plan FILE            show what applying a spec would change
  apply FILE           apply it (--yes, --retry-failed, --prune, --force)
  status [EXPERIMENT]  experiments, or one experiment's runs with live progress
  cancel RUN|EXP       cancel a run or an experiment's runs
  logs RUN [--follow]  a run's log
  import csv FILE | tensorboard DIR   import metrics as finished runs (--project, --experiment)
  report create --from-spec FILE     a report of the spec's panels over its runs (--publish, --share)
  key create|list|revoke             the team's API keys (admins; scaleboard key --help)
  start                start the database (embedded when DATABASE_URL is unset), web app and a worker
  dev                  the same with the Next.js dev server (reloads on change)
  migrate              apply pending database migrations
  worker               run a worker process [--name NAME] [--slots N] [--gpus 0,1]; on another host:
                       --server URL with a worker API key in SCALEBOARD_API_KEY (or DATABASE_URL);
                       --allow-commands to run specs' runner: command runs (off by default),
                       --run-as USER to run those commands as USER when the worker runs as root

Every spec command takes --json, --server URL (API key in SCALEBOARD_API_KEY) and --team SLUG.`);
  process.exit(command && command !== "help" && command !== "--help" ? 2 : 0);
}

const [script, ...fixedArgs] = commands[command];
const child = spawn(
  process.execPath,
  ["--import", import.meta.resolve("tsx"), path.join(root, script), ...fixedArgs, ...rest],
  {
    stdio: "inherit",
    cwd: process.cwd(),
  },
);
// Ctrl-C reaches the child straight from the terminal (same process group); forwarding it at once
// made a second SIGINT land while the child was exiting from the first, which could kill it mid-exit.
// A SIGINT sent to this process alone (kill -INT) is passed on if the child is still running shortly after.
let childExited = false;
child.on("exit", () => {
  childExited = true;
});
process.on("SIGINT", () => setTimeout(() => childExited || child.kill("SIGINT"), 500).unref());
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
