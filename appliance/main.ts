#!/usr/bin/env bun
import "reflect-metadata";
import { runCli } from "./cli.ts";

// The only place that reads the process: argv, environment, signals.
const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => controller.abort());
}
const fromSource = /\.(ts|js)$/.test(process.argv[1] ?? "");
const runtime = "Deno" in globalThis ? "deno run -A" : "npx bun";
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
  self: fromSource ? `${runtime} appliance/main.ts` : process.execPath,
});
process.exit(code);
