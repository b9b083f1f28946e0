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
};

const [command, ...rest] = process.argv.slice(2);
if (!command || command === "help" || command === "--help" || !(command in commands)) {
  const known = Object.keys(commands).join(", ");
  if (command && command !== "help" && command !== "--help") console.error(`scaleboard: unknown command "${command}" (known: ${known})`);
  console.log(`Usage: scaleboard <command>

Commands:
  start     start the database (embedded when DATABASE_URL is unset), web app and a worker
  dev       the same with the Next.js dev server (reloads on change)
  migrate   apply pending database migrations
  worker    run a worker process [--name NAME] [--slots N]`);
  process.exit(command && command !== "help" && command !== "--help" ? 2 : 0);
}

const [script, ...fixedArgs] = commands[command];
const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.join(root, script), ...fixedArgs, ...rest], {
  stdio: "inherit",
  cwd: process.cwd(),
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
