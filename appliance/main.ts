#!/usr/bin/env bun
import "reflect-metadata";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./cli.ts";
import { shellWord } from "./shell-word.ts";

// The only place that reads the process: argv, environment, signals.
const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => controller.abort());
}
// How to run this same program, printed in hints that must work verbatim from
// any directory: absolute paths only (`npx drover` works only inside the repo).
// From source that is the bin/drover.mjs launcher (Bun) or deno run -A main.ts.
const fromSource = /\.(ts|js)$/.test(process.argv[1] ?? "");
const mainPath = fileURLToPath(import.meta.url);
const self = !fromSource
  ? shellWord(process.execPath)
  : "Deno" in globalThis
    ? `${shellWord(process.execPath)} run -A ${shellWord(mainPath)}`
    : shellWord(join(dirname(mainPath), "..", "bin", "drover.mjs"));
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  signal: controller.signal,
  self,
  ...(fromSource ? {} : { executable: process.execPath }),
  terminal: { input: process.stdin, output: process.stdout },
});
process.exit(code);
