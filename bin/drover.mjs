#!/usr/bin/env node
// `npx drover …` right after `npm ci`: runs appliance/main.ts from source on the
// Bun runtime that npm installed (node_modules/bun), before any build.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundled = join(root, "node_modules", "bun", "bin", "bun.exe");
const bun = existsSync(bundled) ? bundled : "bun";
const child = spawn(bun, [join(root, "appliance", "main.ts"), ...process.argv.slice(2)], {
  stdio: "inherit",
});
// The child is in our process group, so a Ctrl-C reaches it directly; signals
// sent to this launcher alone (kill PID, a service manager) are passed on.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => {
  process.stderr.write(`drover: cannot run ${bun}: ${error.message}\n`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  if (signal !== null) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
